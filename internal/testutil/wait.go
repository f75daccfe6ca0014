package testutil

import (
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
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
