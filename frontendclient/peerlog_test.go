package frontendclient

import (
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestGarbageFloodIsNotALogFlood: what is dropped on the client's
// subject is counted in full and logged a few lines a minute. Another
// frontend can have the NATS server send there the acknowledgements of
// its own publishes to its task bundles (their reply subject is its
// choice), JSON that no ingo message is: before, each wrote a warning to
// the web app's log.
func TestGarbageFloodIsNotALogFlood(t *testing.T) {
	log, lines := testutil.CountingLogger()
	e := newEnv(t, Options{Log: log})
	ready(t, e.c)
	before := e.c.Stats().Malformed
	const n = 1000
	for range n {
		e.fb.sendRaw(t, e.c.ID(), []byte(`{"stream":"INGO_BUNDLES","seq":1}`))
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return e.c.Stats().Malformed-before == n }, "the garbage was not all counted")
	if got := lines.Load(); got > 150 {
		t.Fatalf("%d lines of log for %d undecodable messages", got, n)
	}
}
