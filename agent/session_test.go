package agent

import (
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// until reads the backend's inbox up to the first message match accepts,
// and fails on any message refuse accepts before it.
func until(t *testing.T, b *backend, match, refuse func(messages.Message) bool) {
	t.Helper()
	for {
		m, _ := expect[messages.Message](t, b, nil)
		if refuse(m) {
			t.Fatalf("got %s %+v", m.MessageName(), m)
		}
		if match(m) {
			return
		}
	}
}

func about(jobID string) func(messages.Message) bool {
	return func(m messages.Message) bool {
		switch m := m.(type) {
		case *messages.AgentJobStarted:
			return m.JobID == jobID
		case *messages.AgentJobDone:
			return m.JobID == jobID
		case *messages.AgentJobRefused:
			return m.JobID == jobID
		case *messages.AgentHello:
			return jobID == "hello"
		}
		return false
	}
}

// TestAgent_ActsOnlyForItsSession: two processes with one agent id both
// receive what the backend sends to that id. A job, a kill or an Unknown
// naming another process's session is dropped; the same naming this one's
// (or none) is acted on.
func TestAgent_ActsOnlyForItsSession(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	id, other, mine := e.cfg.ID, "another-process", e.hello.Session

	theirs := newJob("theirs", map[string]any{"hang": true})
	theirs.Session = other
	e.backend.toAgent(id, theirs)
	own := newJob("own", map[string]any{"hang": true})
	own.Session = mine
	e.backend.toAgent(id, own)
	until(t, e.backend, about("own"), about("theirs"))

	// A kill for the other process leaves this one's attempt running; a
	// kill for this process of an attempt it never saw is answered.
	e.backend.toAgent(id, &messages.BackendKillJob{JobID: "own", Attempt: 1, Session: other})
	e.backend.toAgent(id, &messages.Unknown{Session: other})
	e.backend.toAgent(id, &messages.BackendKillJob{JobID: "marker", Attempt: 1, Session: mine})
	until(t, e.backend, about("marker"), func(m messages.Message) bool { return about("own")(m) || about("hello")(m) })

	e.backend.toAgent(id, &messages.BackendKillJob{JobID: "own", Attempt: 1, Session: mine})
	if d := e.done(t, "own"); d.Result.Status != messages.StatusKilled {
		t.Errorf("own job after its kill: %s", status(d))
	}
	if s := e.agent.Stats(); s.OtherSession != 3 || s.Unknowns != 0 || e.rt.Stats().Calls != 1 {
		t.Errorf("agent %+v, runtime %+v: want 3 messages dropped, none acted on", s, e.rt.Stats())
	}
}
