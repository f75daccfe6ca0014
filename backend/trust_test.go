package backend

import (
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

func (r *rig) admin(id string) *peer {
	return r.peer(id, r.subj.Client(id), r.subj.BackendAdmin(id))
}

// TestFrontendsConfinedToTheirJobs: a frontend neither kills nor sees
// another frontend's jobs; an admin does both. The identity is the
// subject the message came on (NATS enforces who may publish there).
func TestFrontendsConfinedToTheirJobs(t *testing.T) {
	r := newRig(t, nil)
	owner, other, ops := r.client("c1"), r.client("c2"), r.admin("ops")
	a := r.agent("a", 1, "docker/default")
	owner.submit(newJob("running", "default", 0))
	owner.submit(newJob("waiting", "default", 0))
	a.take()

	for _, id := range []string{"running", "waiting"} {
		other.send(&messages.ClientKillJob{JobID: id})
		if e := next[*messages.Error](other); e.Code != messages.CodeUnknownJob || e.Text != "no such job" {
			t.Fatalf("another frontend's kill of %s: %+v", id, e)
		}
	}
	other.send(&messages.ClientGetQueue{})
	if q := next[*messages.BackendGetQueue](other); len(q.JobsRunning) != 0 || len(q.JobsWaiting) != 0 {
		t.Fatalf("another frontend sees the owner's jobs: %+v", q)
	}
	owner.quiet(200 * time.Millisecond) // nothing was killed
	if s := r.b.Stats(); s.Refused != 2 {
		t.Fatalf("refused %d, want 2", s.Refused)
	}

	ops.send(&messages.ClientGetQueue{})
	if q := next[*messages.BackendGetQueue](ops); len(q.JobsRunning) != 1 || len(q.JobsWaiting) != 1 {
		t.Fatalf("the admin's snapshot: %+v", q)
	}
	ops.send(&messages.ClientKillJob{JobID: "waiting"})
	if d := next[*messages.BackendJobDone](owner); d.JobID != "waiting" || d.Result.Status != messages.StatusKilled {
		t.Fatalf("the admin's kill: %+v", d)
	}
	// A finished job of another frontend is still "no such job".
	other.send(&messages.ClientKillJob{JobID: "waiting"})
	if e := next[*messages.Error](other); e.Text != "no such job" {
		t.Fatalf("got %+v", e)
	}
}

// TestAgentCannotAnswerForAnother: a result for an attempt given to agent
// a, sent by agent b, changes nothing; a's own result is the job's.
func TestAgentCannotAnswerForAnother(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	a := r.agent("a", 1, "docker/default")
	b := r.agent("b", 1, "docker/python")
	c.submit(newJob("j1", "default", 0))
	j := a.take()

	b.send(&messages.AgentJobStarted{JobID: j.JobID, Attempt: j.Attempt})
	forged := &messages.AgentJobDone{JobID: j.JobID, Attempt: j.Attempt,
		JobResult: messages.JobResult{Result: messages.Result{Status: messages.StatusSuccess, Text: "FORGED"}, Grade: 100}}
	b.send(forged)
	if e := next[*messages.Error](b.peer); e.Code != messages.CodeStaleAttempt {
		t.Fatalf("the forger got %+v", e)
	}
	c.quiet(200 * time.Millisecond)
	if s := r.b.Stats(); s.Refused != 2 {
		t.Fatalf("refused %d, want 2", s.Refused)
	}
	a.finish(j, messages.StatusFailed)
	if d := next[*messages.BackendJobDone](c); d.JobID != "j1" || d.Result.Status != messages.StatusFailed || d.Result.Text == "FORGED" {
		t.Fatalf("got %+v", d)
	}
}
