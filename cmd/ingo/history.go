package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/backend/history"
)

// historyStore is the job history and its request server, both closed by
// Close.
type historyStore struct {
	*history.Store
	srv *history.Server
	log *slog.Logger
}

func (h *historyStore) Close() {
	h.srv.Close()
	h.Store.Close()
	if s := h.Stats(); s.Written+s.Failed > 0 {
		h.log.Info("job history closed", "records_written", s.Written, "batches", s.Batches, "records_failed", s.Failed)
	}
}

// openHistory opens the job history (backend.history-*) and answers
// its requests from this process, active or standby: reads need no lease.
func (a *app) openHistory(ctx context.Context, nc *nats.Conn) (*historyStore, error) {
	cfg := a.cfg
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	log := a.log.With("component", "history")
	st, err := history.Open(octx, nc, history.Options{
		Prefix:     cfg.Prefix,
		Retention:  cfg.Backend.HistoryRetention,
		MaxBytes:   cfg.Backend.HistoryMaxBytes,
		MaxArchive: cfg.Backend.HistoryMaxArchive,
		Replicas:   cfg.Backend.Replicas,
		Log:        log,
	})
	if err != nil {
		return nil, fmt.Errorf("%w (the job history needs JetStream on the NATS server)", err)
	}
	srv, err := st.Serve(nc)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &historyStore{Store: st, srv: srv, log: log}, nil
}
