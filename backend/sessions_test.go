package backend

import (
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// process is one process of agent id with its own session: a peer on the
// id's subject that pings with its session and says hello. Every process
// of the id receives what the backend sends there; what names another
// session is noise to this one, as the agent drops it.
func (r *rig) process(id, session string) *fakeAgent {
	r.t.Helper()
	a := &fakeAgent{peer: r.peer(id, r.subj.Agent(id), r.subj.BackendAgent(id)), session: session, stop: make(chan struct{})}
	a.Noise = func(m messages.Message) bool {
		s := messages.SessionOf(m)
		return testutil.HeartbeatNoise(m) || (s != "" && s != session)
	}
	a.beat()
	r.t.Cleanup(a.silence)
	return a
}

// register says hello until the backend accepts it (a live process of the
// id is dropped after the heartbeat timeout), and returns the conflicts it
// was refused with meanwhile.
func (a *fakeAgent) register(slots int, envs ...string) []*messages.BackendAgentConflict {
	a.T.Helper()
	var refused []*messages.BackendAgentConflict
	deadline := time.After(wait)
	for {
		a.hello(slots, envs, nil, 0)
		for answered := false; !answered; {
			select {
			case m := <-a.Inbox:
				switch m := m.(type) {
				case *messages.Ack:
					if m.Session == a.session && m.JobID == "" {
						return refused
					}
				case *messages.BackendAgentConflict:
					if m.Session == a.session {
						refused = append(refused, m)
						answered = true
					}
				case *messages.Unknown:
					// Its pings, until it is registered.
				default:
					if !a.Noise(m) {
						a.T.Fatalf("%s: unexpected %T %+v", a.session, m, m)
					}
				}
			case <-deadline:
				a.T.Fatalf("%s: not registered within %v", a.session, wait)
			}
		}
		time.Sleep(50 * time.Millisecond) // as an agent retries at its heartbeat
	}
}

// TestAgentProcesses_SecondLiveOneRefused: a second process with the id of
// a live agent is refused with a conflict that names the live one, which
// keeps its job; the second one's pings keep nobody alive, so once the
// first is silent for the heartbeat timeout the backend drops it,
// re-queues its job and accepts the second, which gets the job. What the
// backend sends each process names its session.
func TestAgentProcesses_SecondLiveOneRefused(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	first := r.process("a", "s1")
	if refused := first.register(1, "docker/default"); len(refused) != 0 {
		t.Fatalf("the first process was refused: %+v", refused[0])
	}
	c.submit(newJob("j1", "default", 0))
	j := next[*messages.BackendNewJob](first.peer)
	if j.Session != "s1" || j.Attempt != 1 {
		t.Fatalf("job for the first process: attempt %d, session %q", j.Attempt, j.Session)
	}
	first.send(&messages.AgentJobStarted{JobID: j.JobID, Attempt: j.Attempt})

	second := r.process("a", "s2")
	second.hello(1, []string{"docker/default"}, nil, 0)
	conflict := next[*messages.BackendAgentConflict](second.peer)
	if conflict.Session != "s2" || conflict.Name != "agent a" || conflict.Since == 0 || conflict.LastSeen < conflict.Since ||
		conflict.Timeout != (time.Second+100*time.Millisecond).Milliseconds() {
		t.Errorf("conflict %+v: want session s2, the live one's name, since and last heard, and a timeout of 1.1 s", conflict)
	}
	if s := r.b.Stats(); s.AgentsLost != 0 || s.Requeued != 0 {
		t.Fatalf("the refused hello disturbed the live process: %+v", s)
	}
	ops := r.admin("ops")
	ops.send(&messages.ClientGetQueue{})
	if q := next[*messages.BackendGetQueue](ops); len(q.Agents) != 1 || q.Agents[0].Running != 1 || len(q.JobsRunning) != 1 {
		t.Errorf("queue after the refusal: %+v", q)
	}

	// The first process dies: the second's pings do not keep it alive.
	first.silence()
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().AgentsLost == 1 }, "the silent process was never dropped")
	second.register(1, "docker/default")
	j2 := next[*messages.BackendNewJob](second.peer)
	if j2.JobID != "j1" || j2.Attempt != 2 || j2.Session != "s2" {
		t.Fatalf("re-queued job: %s attempt %d session %q", j2.JobID, j2.Attempt, j2.Session)
	}
	second.send(&messages.AgentJobStarted{JobID: j2.JobID, Attempt: j2.Attempt})
	c.send(&messages.ClientKillJob{JobID: "j1"})
	if k := next[*messages.BackendKillJob](second.peer); k.Session != "s2" || k.Attempt != 2 {
		t.Errorf("kill %+v: want attempt 2 of session s2", k)
	}
}

// A refusal is a warning about shared credentials only while the other
// process pings; one silent for two heartbeats is a restart's predecessor.
func TestLooksRestarted(t *testing.T) {
	b := &Backend{cfg: DefaultConfig()}
	for _, tc := range []struct {
		silent time.Duration
		want   bool
	}{
		{0, false},
		{1500 * time.Millisecond, false},
		{2 * time.Second, false},
		{2100 * time.Millisecond, true},
		{5 * time.Second, true},
	} {
		if got := b.looksRestarted(tc.silent); got != tc.want {
			t.Errorf("silent %v: %v, want %v", tc.silent, got, tc.want)
		}
	}
}

// TestAgentProcesses_StoppedOneReplacedAtOnce: an agent stopping gracefully
// says hello with no slots and hands its jobs back; a new process of its
// id (the restart that follows) then takes its place at once, instead of
// being refused for the heartbeat timeout while the drained one still
// pings: that left the id's slots idle during every rolling restart. A
// stopping process that still holds a job keeps its place.
func TestAgentProcesses_StoppedOneReplacedAtOnce(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	first := r.process("a", "s1")
	first.register(1, "docker/default")
	c.submit(newJob("j1", "default", 0))
	j := first.take()

	// Stopping: no slots, the job still running.
	first.hello(0, []string{"docker/default"}, []messages.JobAttempt{{JobID: j.JobID, Attempt: j.Attempt}}, 0)
	second := r.process("a", "s2")
	second.hello(1, []string{"docker/default"}, nil, 0)
	if m := next[*messages.BackendAgentConflict](second.peer); m.Session != "s2" {
		t.Fatalf("conflict %+v for another session", m)
	}

	// The job handed back, the stopping process holds nothing.
	first.send(&messages.AgentJobRefused{JobID: j.JobID, Attempt: j.Attempt, Reason: "The agent was shut down while grading."})
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().Requeued == 1 }, "the handed-back job was never re-queued")
	start := time.Now()
	if refused := second.register(1, "docker/default"); len(refused) != 0 {
		t.Fatalf("the new process was refused %d times after %v although its predecessor had drained: %+v",
			len(refused), time.Since(start).Round(time.Millisecond), refused[0])
	}
	j2 := next[*messages.BackendNewJob](second.peer)
	if j2.JobID != "j1" || j2.Attempt != 2 || j2.Session != "s2" {
		t.Fatalf("re-queued job: %s attempt %d session %q", j2.JobID, j2.Attempt, j2.Session)
	}
	if lost := r.b.Stats().AgentsLost; lost != 0 {
		t.Errorf("a graceful restart counted %d agents lost", lost)
	}
}
