package backend

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// flakyJournal refuses the transitions a test asks it to, as a journal
// whose stream is electing a leader does.
type flakyJournal struct{ refuseRequeue atomic.Bool }

func (f *flakyJournal) Record(t Transition) error {
	if _, ok := t.(*JobRequeued); ok && f.refuseRequeue.Load() {
		return errors.New("nats: no response from stream")
	}
	return nil
}

// An agent lost while the journal refuses the requeue of its job: the job
// must not stay assigned to an agent that no longer exists (it never got a
// result before), but be requeued once the journal takes it.
func TestLostAgentsJobRequeuedAfterJournalRefusal(t *testing.T) {
	j := &flakyJournal{}
	r := newRig(t, func(c *Config) {
		c.Journal = j
		c.StartTimeout = 200 * time.Millisecond
	})
	c := r.client("c1")
	a := r.agent("a", 1, "docker/default")
	c.submit(newJob("j", "default", 0))
	a.take()
	j.refuseRequeue.Store(true)
	a.silence()
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().AgentsLost == 1 && r.b.Stats().JournalErrors > 0 }, "agent not lost")
	j.refuseRequeue.Store(false)
	b := r.agent("b", 1, "docker/default")
	second := b.take()
	if second.JobID != "j" || second.Attempt != 2 {
		t.Fatalf("second attempt %+v", second)
	}
	b.finish(second, messages.StatusSuccess)
	if d := next[*messages.BackendJobDone](c); d.Result.Status != messages.StatusSuccess || d.Result.Text != "by b" {
		t.Fatalf("got %+v", d)
	}
}
