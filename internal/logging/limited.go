package logging

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Limited returns log passing at most burst records per interval; the
// others are dropped and counted, and the next record that passes says
// how many ("dropped"). It is for what others cause at will: a record
// per connection refused or per failed TLS handshake is a line a
// connection costs its sender and a line on the operator's disk, and a
// flood of them (a review wrote 220,000 in 20 s) fills the disk or makes
// journald drop the lines that matter.
func Limited(log *slog.Logger, interval time.Duration, burst int) *slog.Logger {
	return slog.New(&limited{Handler: log.Handler(), state: &limitState{interval: interval, burst: burst, now: time.Now}})
}

type limitState struct {
	interval time.Duration
	burst    int
	now      func() time.Time

	mu      sync.Mutex
	start   time.Time // of the current interval
	passed  int       // records passed in it
	dropped int       // since the last record passed
}

// admit says whether a record passes, and how many were dropped before it.
func (s *limitState) admit() (ok bool, dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.start) >= s.interval {
		s.start, s.passed = now, 0
	}
	if s.passed >= s.burst {
		s.dropped++
		return false, 0
	}
	s.passed++
	dropped, s.dropped = s.dropped, 0
	return true, dropped
}

type limited struct {
	slog.Handler
	state *limitState
}

func (h *limited) Handle(ctx context.Context, r slog.Record) error {
	ok, dropped := h.state.admit()
	if !ok {
		return nil
	}
	if dropped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("dropped", dropped))
	}
	return h.Handler.Handle(ctx, r)
}

func (h *limited) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &limited{Handler: h.Handler.WithAttrs(attrs), state: h.state}
}

func (h *limited) WithGroup(name string) slog.Handler {
	return &limited{Handler: h.Handler.WithGroup(name), state: h.state}
}
