package backend

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestAgentCannotClaimAJobNeverItsOwn: an agent's hello that reports a
// waiting job as running takes it back only if that agent ran the job's
// last attempt (it was dropped for silence and is back in the same
// session). Before, any agent that named a waiting job with its attempt
// number (0 for a job never assigned: no guessing) got it assigned and
// started, and its forged result was the job's, for a job of an
// environment it did not even offer.
func TestAgentCannotClaimAJobNeverItsOwn(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	a := r.agent("a", 1, "docker/default")
	thief := r.agent("thief", 2, "docker/python")
	a.hello(0, []string{"docker/default"}, nil, 0) // a takes nothing for now
	next[*messages.Ack](a.peer)

	fresh := newJob("fresh", "default", 0)
	c.submit(fresh)
	tests := []struct {
		name    string
		attempt int
	}{{"never assigned, attempt 0", 0}, {"attempt 1", 1}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			thief.hello(2, []string{"docker/python"}, []messages.JobAttempt{{JobID: "fresh", Attempt: tt.attempt}}, 0)
			if k := next[*messages.BackendKillJob](thief.peer); k.JobID != "fresh" {
				t.Fatalf("the claimer got %+v, want a kill of its claim", k)
			}
			thief.send(&messages.AgentJobDone{JobID: "fresh", Attempt: tt.attempt,
				JobResult: messages.JobResult{Result: messages.Result{Status: messages.StatusSuccess, Text: "FORGED"}, Grade: 100}})
			collect[messages.Message](thief.peer, 200*time.Millisecond) // its refusals
			for _, m := range collect[messages.Message](c, 100*time.Millisecond) {
				switch m.(type) {
				case *messages.BackendJobStarted, *messages.BackendJobDone:
					t.Fatalf("the owner heard of the claim: %#v", m)
				}
			}
		})
	}

	// The job is still the queue's: a, which offers its environment, runs it.
	a.hello(1, []string{"docker/default"}, nil, 0)
	next[*messages.Ack](a.peer)
	j := a.take()
	if j.JobID != "fresh" || j.Attempt != 1 {
		t.Fatalf("a got %+v", j)
	}
	a.finish(j, messages.StatusFailed)
	if d := next[*messages.BackendJobDone](c); d.Result.Status != messages.StatusFailed || d.Result.Text == "FORGED" {
		t.Fatalf("got %+v", d)
	}
}

// TestAgentTakesBackItsOwnAttempt: the control of the test above. An
// agent dropped for silence that comes back in the same session and
// still runs its attempt gets it back rather than see it run twice.
func TestAgentTakesBackItsOwnAttempt(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	a := r.agent("a", 1, "docker/default")
	c.submit(newJob("j1", "default", 0))
	j := a.take()
	a.silence()
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().AgentsLost == 1 }, "the silent agent was never dropped")
	back := &fakeAgent{peer: a.peer, session: a.session, stop: make(chan struct{})} // the same process
	t.Cleanup(back.silence)
	back.hello(1, []string{"docker/default"}, []messages.JobAttempt{{JobID: "j1", Attempt: j.Attempt}}, j.Seq)
	next[*messages.Ack](back.peer)
	back.beat()
	back.finish(j, messages.StatusSuccess)
	if d := next[*messages.BackendJobDone](c); d.JobID != "j1" || d.Result.Status != messages.StatusSuccess {
		t.Fatalf("got %+v", d)
	}
}

// TestAgentNameBounded: an agent's friendly name goes into every queue
// snapshot and the texts of its jobs' results; a hello with a name longer
// than a job's names, or a session longer than an id, is refused. Before,
// an agent named with 8 MB made every client's snapshot too big to send.
func TestAgentNameBounded(t *testing.T) {
	tests := []struct {
		name          string
		friendly, ses string
	}{
		{"a long name", strings.Repeat("n", messages.MaxNameLength+1), "s1"},
		{"a long session", "a", strings.Repeat("s", messages.MaxIDLength+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			a := r.peer("a", r.subj.Agent("a"), r.subj.BackendAgent("a"))
			a.send(&messages.AgentHello{ProtocolVersion: messages.ProtocolVersion, FriendlyName: tt.friendly, AvailableJobSlots: 1,
				AvailableEnvironments: map[string]map[string]messages.EnvironmentInfo{"docker": {"default": {ID: "x", Advertised: true}}}, Session: tt.ses})
			if e := next[*messages.Error](a); e.Code != messages.CodeBadRequest {
				t.Fatalf("got %+v", e)
			}
			ops := r.admin("ops")
			ops.send(&messages.ClientGetQueue{})
			if q := next[*messages.BackendGetQueue](ops); len(q.Agents) != 0 {
				t.Fatalf("the agent registered: %d agents", len(q.Agents))
			}
		})
	}
}

// TestAgentEnvironmentsBounded: an agent's hello offering more than
// messages.MaxAgentEnvironments environments, or names no job can carry, is
// refused, and registers nothing. Before, a hello of 130,000 names (4.7
// MB), sent again with other names, held the backend's loop for seconds
// each time and sent the whole list to every client.
func TestAgentEnvironmentsBounded(t *testing.T) {
	tests := []struct {
		name string
		envs []string
	}{
		{"too many", manyEnvs(messages.MaxAgentEnvironments + 1)},
		{"a name too long", []string{"docker/" + strings.Repeat("x", messages.MaxNameLength+1)}},
		{"an empty type", []string{"/default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			c := r.client("c1")
			c.send(&messages.ClientHello{ProtocolVersion: messages.ProtocolVersion, Name: "c1"})
			next[*messages.BackendUpdateEnvironments](c)
			a := &fakeAgent{peer: r.peer("a", r.subj.Agent("a"), r.subj.BackendAgent("a")), session: "a-s1", stop: make(chan struct{})}
			a.hello(1, tt.envs, nil, 0)
			if e := next[*messages.Error](a.peer); e.Code != messages.CodeBadRequest {
				t.Fatalf("got %+v", e)
			}
			c.quiet(200 * time.Millisecond) // no new environments
		})
	}
	// The bound itself is accepted.
	r := newRig(t, nil)
	r.agent("a", 1, manyEnvs(messages.MaxAgentEnvironments)...)
}

func manyEnvs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("docker/e%d", i)
	}
	return out
}
