package testutil

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// serverWarnings keeps the last warnings and errors of an embedded server
// that runs without NATS_LOGGING. A test that fails on a JetStream API error
// sees only the error's code (a failed stream create says no more than
// "error creating store for stream"); the server logs the cause, and
// the test prints it when it fails.
type serverWarnings struct {
	mu    sync.Mutex
	lines []string
}

// keepWarnings is the number of lines kept: the most recent ones.
const keepWarnings = 64

// logger is a slog.Logger that keeps warnings and errors in w.
func (w *serverWarnings) logger() *slog.Logger { return slog.New(w) }

// report logs what was kept if t failed.
func (w *serverWarnings) report(t testing.TB) {
	if !t.Failed() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.lines) > 0 {
		t.Logf("the NATS server's last warnings and errors:\n%s", strings.Join(w.lines, "\n"))
	}
}

func (w *serverWarnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (w *serverWarnings) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.lines) == keepWarnings {
		w.lines = append(w.lines[:0], w.lines[1:]...)
	}
	w.lines = append(w.lines, r.Time.Format("15:04:05.000")+" "+r.Level.String()+" "+r.Message)
	return nil
}

func (w *serverWarnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *serverWarnings) WithGroup(string) slog.Handler      { return w }
