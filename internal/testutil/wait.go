package testutil

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"
)

// Eventually polls cond every 10ms until it holds, and fails the test with
// msg if it does not within d. It bounds waits; it never measures speed.
func Eventually(t testing.TB, d time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !cond() {
		t.Fatalf("after %v: "+msg, append([]any{d}, args...)...)
	}
}

// Logger returns a logger writing to the test log (debug level when
// INGO_TEST_DEBUG is set, warnings otherwise).
func Logger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("INGO_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	h := slog.Handler(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
	if capturing() {
		// Everything, at debug level, goes to the capture: a secret
		// logged at any level is a leak.
		h = fanout{h, slog.NewTextHandler(captureWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug})}
	}
	return slog.New(h)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// fanout sends each record to two handlers.
type fanout [2]slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	return f[0].Enabled(ctx, l) || f[1].Enabled(ctx, l)
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	return fanout{f[0].WithAttrs(as), f[1].WithAttrs(as)}
}

func (f fanout) WithGroup(name string) slog.Handler {
	return fanout{f[0].WithGroup(name), f[1].WithGroup(name)}
}
