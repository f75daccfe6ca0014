package agent

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
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
	testutil.Eventually(t, wait, func() bool { return e.rt.Stats().Calls == 1 }, "own job not in the runtime")

	// A kill for the other process leaves this one's attempt running; a
	// kill for this process of an attempt it never saw is answered.
	e.backend.toAgent(id, &messages.BackendKillJob{JobID: "own", Attempt: 1, Session: other})
	e.backend.toAgent(id, &messages.Unknown{Session: other})
	e.backend.toAgent(id, &messages.BackendAgentConflict{Session: other, Name: "this one", Timeout: 1})
	e.backend.toAgent(id, &messages.BackendKillJob{JobID: "marker", Attempt: 1, Session: mine})
	until(t, e.backend, about("marker"), func(m messages.Message) bool { return about("own")(m) || about("hello")(m) })

	e.backend.toAgent(id, &messages.BackendKillJob{JobID: "own", Attempt: 1, Session: mine})
	if d := e.done(t, "own"); d.Result.Status != messages.StatusKilled {
		t.Errorf("own job after its kill: %s", status(d))
	}
	if s := e.agent.Stats(); s.OtherSession != 4 || s.Unknowns != 0 || s.Conflicts != 0 || e.rt.Stats().Calls != 1 {
		t.Errorf("agent %+v, runtime %+v: want 4 messages dropped, none acted on", s, e.rt.Stats())
	}
}

// TestAgent_RefusedWhileAnotherIsLive: refused because another process
// with its id is live, the agent says hello again at each heartbeat. The
// backend accepts it once the other has been silent long enough (it was
// dead), or, the other being alive past that, Run stops and says who holds
// the id.
func TestAgent_RefusedWhileAnotherIsLive(t *testing.T) {
	t.Parallel()
	since := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		// timeout is the backend's; refusals, how many hellos it refuses
		// (0: all).
		timeout  time.Duration
		refusals int
	}{
		{"the other was dead: taken over", time.Minute, 3},
		{"the other is alive: Run stops", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The fake backend's Pong to a ping sent before the refusal
			// came after it, and the agent took itself for registered
			// (CI: no more hellos within 10s): the real backend answers
			// Unknown to a session it does not hold.
			e := start(t, options{unaccepted: true, pingsUnknown: true, cfg: Config{HeartbeatInterval: 10 * time.Millisecond}})
			refuse := func() {
				e.backend.toAgent(e.cfg.ID, &messages.BackendAgentConflict{Session: e.hello.Session, Name: "grader-07",
					Since: since.UnixMilli(), LastSeen: since.Add(time.Hour).UnixMilli(), Timeout: tc.timeout.Milliseconds()})
			}
			// Each hello is refused, until Run gives up or the last refusal.
			// One deadline for all: pings arriving meanwhile must not keep
			// the loop alive without hellos (it once hung for 10 minutes).
			refuse()
			deadline := time.NewTimer(wait)
			defer deadline.Stop()
			for n := 1; tc.refusals == 0 || n < tc.refusals; {
				select {
				case <-e.ran:
				case r := <-e.backend.in:
					if _, ok := r.msg.(*messages.AgentHello); ok {
						refuse()
						n++
					}
					continue
				case <-deadline.C:
					t.Fatalf("after %d refusals: no more hellos within %v, and Run still runs", n, wait)
				}
				break
			}
			if tc.refusals == 0 {
				err := e.wait()
				var c *ConflictError
				if !errors.Is(err, ErrConflict) || !errors.As(err, &c) || c.Name != "grader-07" || !c.Since.Equal(since) ||
					!strings.Contains(err.Error(), "another agent with id agent1 is live: name \"grader-07\", since 2026-03-01T08:00:00Z") ||
					!strings.Contains(err.Error(), "ingo creds --role agent --name") {
					t.Fatalf("Run = %v, want the conflict naming the other agent", err)
				}
				e.runErrSeen = true
				return
			}
			expect[*messages.AgentHello](t, e.backend, nil)
			e.backend.unknown.Store(false)
			e.backend.toAgent(e.cfg.ID, &messages.Ack{Session: e.hello.Session})
			if p, _ := expect[*messages.Ping](t, e.backend, nil); p.Session != e.hello.Session {
				t.Errorf("ping with session %q", p.Session)
			}
			e.backend.autoAck.Store(true)
			e.submit(t, newJob("after", nil))
			if d := e.done(t, "after"); d.Result.Status != messages.StatusSuccess {
				t.Errorf("job once registered: %s", status(d))
			}
			if s := e.agent.Stats(); s.Conflicts != uint64(tc.refusals) {
				t.Errorf("conflicts %d, want %d", s.Conflicts, tc.refusals)
			}
		})
	}
}

// TestAgent_UnknownBurstLoggedOnce: the answers to the pings an agent
// cut off from NATS sent meanwhile come together once it is back; a
// production rehearsal's agent logged "saying hello again" 20 times in
// one millisecond. The first answer of a burst is news, the rest not.
func TestAgent_UnknownBurstLoggedOnce(t *testing.T) {
	t.Parallel()
	var buf testutil.SyncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e := start(t, options{log: log})
	testutil.Eventually(t, wait, func() bool { return e.agent.registered() }, "the agent never counted itself registered")
	for range 20 {
		e.backend.toAgent(e.cfg.ID, &messages.Unknown{})
	}
	testutil.Eventually(t, wait, func() bool { return e.agent.Stats().Unknowns >= 20 }, "the Unknowns never arrived")
	if n := strings.Count(buf.String(), "saying hello again"); n != 1 {
		t.Errorf("%d lines say the agent says hello again, want 1:\n%s", n, buf.String())
	}
}
