package agent

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

func TestAgent_Hello_Contents(t *testing.T) {
	t.Parallel()
	e := start(t, options{
		cfg:  Config{ID: "agent-7", Name: "Host 7", Slots: 3},
		fake: fake.Options{Environments: map[string][]string{"docker": {"default", "python"}, "docker-ssh": {"default"}}},
	})
	h := e.hello
	if h.ProtocolVersion != messages.ProtocolVersion || h.FriendlyName != "Host 7" || h.AvailableJobSlots != 3 {
		t.Errorf("hello %+v", h)
	}
	if h.Session == "" || len(h.RunningJobs) != 0 || h.LastJobSeq != 0 {
		t.Errorf("hello of a new agent: session %q running %v seq %d", h.Session, h.RunningJobs, h.LastJobSeq)
	}
	if len(h.AvailableEnvironments["docker"]) != 2 || len(h.AvailableEnvironments["docker-ssh"]) != 1 {
		t.Errorf("environments %v", h.AvailableEnvironments)
	}

	// A later hello reports what runs and the last job seen.
	j := newJob("j1", map[string]any{"hang": true})
	j.Seq = 41
	e.submit(t, j)
	e.backend.toAgent(e.cfg.ID, &messages.Unknown{})
	h2, reply := expect[*messages.AgentHello](t, e.backend, nil)
	want := []messages.JobAttempt{{JobID: "j1", Attempt: 1}}
	if h2.Session != h.Session || !slices.Equal(h2.RunningJobs, want) || h2.LastJobSeq != 41 {
		t.Errorf("second hello: session %q (first %q) running %v seq %d", h2.Session, h.Session, h2.RunningJobs, h2.LastJobSeq)
	}
	if reply != e.backend.subj.Agent("agent-7") {
		t.Errorf("hello reply subject %q", reply)
	}
}

func TestAgent_Hello_SessionPerAgent(t *testing.T) {
	t.Parallel()
	a, b := start(t, options{}), start(t, options{})
	if a.hello.Session == b.hello.Session {
		t.Errorf("two agents share session %q", a.hello.Session)
	}
}

func TestAgent_Heartbeat_UnknownMeansHello(t *testing.T) {
	t.Parallel()
	e := start(t, options{cfg: Config{HeartbeatInterval: 5 * time.Millisecond}})
	_, reply := expect[*messages.Ping](t, e.backend, nil)
	if reply != e.backend.subj.Agent(e.cfg.ID) {
		t.Errorf("Ping reply subject %q", reply)
	}
	testutil.Eventually(t, wait, func() bool { return e.agent.Stats().Pongs > 0 }, "no Pong counted")
	e.backend.unknown.Store(true)
	h, _ := expect[*messages.AgentHello](t, e.backend, nil)
	if h.Session != e.hello.Session {
		t.Errorf("re-hello with another session")
	}
	if s := e.agent.Stats(); s.Unknowns == 0 || s.Hellos < 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestAgent_Hello_AfterNATSRestart(t *testing.T) {
	t.Parallel()
	// The agent's connection waits an hour between attempts, so that the
	// test decides when it reconnects: after the backend's subscription is
	// back, or the hello would go nowhere.
	e := start(t, options{natsOpt: natsconn.Options{ReconnectWait: time.Hour}})
	e.nats.Stop()
	testutil.Eventually(t, wait, func() bool { return !e.nc.IsConnected() }, "agent never noticed the outage")
	e.nats.Start()
	testutil.Eventually(t, wait, func() bool { return e.backend.nc.IsConnected() && e.backend.nc.Flush() == nil }, "backend did not reconnect")
	testutil.Eventually(t, wait, func() bool {
		if e.nc.IsConnected() {
			return true
		}
		_ = e.nc.ForceReconnect()
		return false
	}, "agent did not reconnect")

	h, _ := expect[*messages.AgentHello](t, e.backend, nil)
	if h.Session != e.hello.Session {
		t.Errorf("hello after reconnect has a new session: the agent did not restart")
	}
	// Its own subscription is back too.
	e.backend.autoAck.Store(true)
	e.submit(t, newJob("after", nil))
	if m := e.done(t, "after"); m.Result.Status != messages.StatusSuccess {
		t.Errorf("job after reconnect: %s", status(m))
	}
}

func TestAgent_Hello_EnvironmentsChange(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	e.rt.SetEnvironments(map[string][]string{"docker": {"default", "java"}})
	h, _ := expect[*messages.AgentHello](t, e.backend, nil)
	if _, ok := h.AvailableEnvironments["docker"]["java"]; !ok {
		t.Fatalf("hello after change: %v", h.AvailableEnvironments)
	}
	// A job for an environment that went away goes back to the backend.
	e.rt.SetEnvironments(map[string][]string{"docker": {"java"}})
	expect(t, e.backend, func(h *messages.AgentHello) bool { return len(h.AvailableEnvironments["docker"]) == 1 })
	e.submit(t, newJob("gone", nil))
	if r := e.refused(t, "gone"); r.Reason != "The environment docker/default is not available on this agent." {
		t.Errorf("job for a missing environment: %q", r.Reason)
	}
}

// TestAgent_Hello_LeavesOutWhatTheBackendRefuses: an environment whose
// name is longer than a job can carry (a grading image's label), or past
// the count the backend takes, is left out of the hello. Before, the
// backend refused the whole hello, and the agent never registered: every
// slot idle for one odd image.
func TestAgent_Hello_LeavesOutWhatTheBackendRefuses(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	long := strings.Repeat("x", messages.MaxNameLength+1)
	e.rt.SetEnvironments(map[string][]string{"docker": {"default", "java", long}})
	h, _ := expect[*messages.AgentHello](t, e.backend, func(h *messages.AgentHello) bool {
		_, ok := h.AvailableEnvironments["docker"]["java"]
		return ok
	})
	if err := messages.CheckEnvironments(h.AvailableEnvironments); err != nil {
		t.Fatalf("the hello offers what the backend refuses: %v", err)
	}
	if _, ok := h.AvailableEnvironments["docker"][long]; ok {
		t.Fatal("the long name is offered")
	}
}

// A result kept just after a hello went out is not sent again by the
// resend that follows the hello: it reaches the backend once, after the
// hello. That resend used to send every unanswered result, so a result
// kept in between went twice, and a backend that answers each result with
// a new job over-committed the agent (TestAgent_Noop_SlotFreedBeforeResult
// failed so in CI).
func TestHelloResendsOnlyResultsSentBeforeIt(t *testing.T) {
	e := start(t, options{cfg: Config{Slots: 1, ResultRetry: time.Hour}})
	k := messages.JobAttempt{JobID: "late", Attempt: 1}
	data, err := messages.Encode(&messages.AgentJobDone{JobID: k.JobID, Attempt: k.Attempt,
		JobResult: messages.NewJobResult(messages.StatusSuccess, "ok", "")})
	if err != nil {
		t.Fatal(err)
	}
	e.agent.mu.Lock()
	e.agent.onHelloSent = func() { e.agent.keep(k, data) }
	e.agent.mu.Unlock()
	e.agent.requestHello()
	expect[*messages.AgentHello](t, e.backend, nil)
	expect[*messages.AgentJobDone](t, e.backend, doneFor(k.JobID))
	deadline := time.After(300 * time.Millisecond)
	for {
		select {
		case r := <-e.backend.in:
			if d, ok := r.msg.(*messages.AgentJobDone); ok {
				t.Fatalf("result %s sent twice", d.JobID)
			}
		case <-deadline:
			if s := e.agent.Stats(); s.ResultsResent != 0 {
				t.Errorf("%d results resent, want 0", s.ResultsResent)
			}
			return
		}
	}
}
