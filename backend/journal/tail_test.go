package journal

import (
	"testing"
	"time"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// A delivered job whose first records were purged while later ones stay
// (it finished after a job still running was queued: the purge stops at
// that job's first record) leaves a tail in the stream. A restarted
// backend replays the tail, ignores it (the job is unknown without its
// JobQueued) and must still let the journal forget it: otherwise the
// compaction stops there for good, the stream grows, and the next crash
// sends every result delivered since to its client again (seen with a
// real backend killed twice under load: 65 results acknowledged up to ten
// minutes before came back).
func TestCompaction_ForgetsTheTailOfAPurgedJob(t *testing.T) {
	n := testutil.StartNATS(t)
	s1 := startBackend(t, n, nil)
	c := client(t, n, "c1")
	a := agentPeer(t, n, "a1")
	a.ping()
	a.hello(2, nil, 0)
	c.submit("x", 0)
	jx := a.take()
	c.submit("long", 0)
	jl := a.take()
	if jx.JobID != "x" || jl.JobID != "long" {
		t.Fatalf("took %s and %s", jx.JobID, jl.JobID)
	}
	a.finish(jx)
	if d := c.result(); d.JobID != "x" {
		t.Fatalf("result of %s, want x", d.JobID)
	}
	testutil.Eventually(t, wait, func() bool { return s1.b.Stats().ResultsAcked == 1 }, "ack not counted")
	s1.stop()

	s2 := startBackend(t, n, func(c *backend.Config) { c.StartTimeout = time.Hour })
	a.hello(2, []messages.JobAttempt{{JobID: jl.JobID, Attempt: jl.Attempt}}, jl.Seq)
	a.finish(jl)
	if d := c.result(); d.JobID != "long" {
		t.Fatalf("result of %s, want long", d.JobID)
	}
	testutil.Eventually(t, wait, func() bool { return s2.records(t) == 0 }, "every job is delivered, yet the journal keeps records")
	c.quiet(300 * time.Millisecond) // x's result is not sent again
}
