package backend

import (
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// refuse hands attempt j back, as an agent that could not take it.
func (a *fakeAgent) refuse(j *messages.BackendNewJob, reason string) {
	a.T.Helper()
	a.send(&messages.AgentJobRefused{JobID: j.JobID, Attempt: j.Attempt, Reason: reason})
}

// TestRefusedAttemptsRequeued: an attempt an agent hands back (it could not
// take it) puts the job back in the queue, within max attempts: the
// student sees a result of a later attempt, or, when none is left, a crash
// that gives the agent's reason. A job being killed ends killed.
func TestRefusedAttemptsRequeued(t *testing.T) {
	const reason = "The agent had no free slot for the job."
	tests := []struct {
		name string
		// refusals of the job's attempts before one runs (all of them when
		// equal to max attempts).
		refusals int
		kill     bool
		status   messages.Status
		text     string
		state    string // the job's state in its result
		requeued int64
	}{
		{"refused once, then graded", 1, false, messages.StatusSuccess, "by a", "", 1},
		{"refused on every attempt", 2, false, messages.StatusCrash,
			"The job could not be graded (attempt 2 of 2, agent agent a): " + reason + " Please submit again.", "s0", 1},
		{"refused while being killed", 1, true, messages.StatusKilled, "The job was killed.", "s0", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			c := r.client("c1")
			a := r.agent("a", 1, "docker/default")
			c.submit(newJob("j1", "default", 0))
			var j *messages.BackendNewJob
			for n := 1; n <= tc.refusals; n++ {
				j = next[*messages.BackendNewJob](a.peer)
				if j.Attempt != n {
					t.Fatalf("attempt %d, want %d", j.Attempt, n)
				}
				if tc.kill {
					a.send(&messages.AgentJobStarted{JobID: j.JobID, Attempt: j.Attempt})
					c.send(&messages.ClientKillJob{JobID: "j1"})
					next[*messages.BackendKillJob](a.peer)
				}
				a.refuse(j, reason)
				if ack := next[*messages.Ack](a.peer); ack.JobID != "j1" || ack.Attempt != n {
					t.Fatalf("answer to the refusal: %+v", ack)
				}
			}
			if tc.refusals < 2 && !tc.kill {
				j = a.take()
				if j.Attempt != tc.refusals+1 {
					t.Fatalf("attempt %d after %d refusals", j.Attempt, tc.refusals)
				}
				a.finish(j, messages.StatusSuccess)
			}
			d := next[*messages.BackendJobDone](c)
			if d.Result.Status != tc.status || d.Result.Text != tc.text || d.State != tc.state {
				t.Errorf("result %s %q state %q, want %s %q state %q", d.Result.Status, d.Result.Text, d.State, tc.status, tc.text, tc.state)
			}
			if s := r.b.Stats(); s.Requeued != tc.requeued {
				t.Errorf("requeued %d, want %d", s.Requeued, tc.requeued)
			}
		})
	}
}

// TestRefusalOfAnotherAttemptChangesNothing: a refusal of an attempt that
// is not current (sent again after its Ack was lost) is refused as stale,
// and the job runs on.
func TestRefusalOfAnotherAttemptChangesNothing(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	a := r.agent("a", 1, "docker/default")
	c.submit(newJob("j1", "default", 0))
	first := next[*messages.BackendNewJob](a.peer)
	a.refuse(first, "The agent was shutting down and could not take the job.")
	next[*messages.Ack](a.peer)
	second := a.take()
	a.refuse(first, strings.Repeat("again ", 10))
	if e := next[*messages.Error](a.peer); e.Code != messages.CodeStaleAttempt || e.Attempt != 1 {
		t.Fatalf("a stale refusal got %+v", e)
	}
	a.finish(second, messages.StatusSuccess)
	if d := next[*messages.BackendJobDone](c); d.Result.Status != messages.StatusSuccess {
		t.Errorf("result %+v", d.Result)
	}
}
