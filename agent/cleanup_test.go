package agent

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// recordingRuntime is a runtime noting the cleanup requests.
type recordingRuntime struct {
	containers.Runtime
	mu   sync.Mutex
	last containers.CleanupRequest
	n    int
}

func (r *recordingRuntime) Cleanup(ctx context.Context, req containers.CleanupRequest) ([]messages.JobAttempt, error) {
	r.mu.Lock()
	r.last, r.n = req, r.n+1
	r.mu.Unlock()
	return r.Runtime.Cleanup(ctx, req)
}

// after waits for two more cleanups and returns the last request.
func (r *recordingRuntime) after(t *testing.T) containers.CleanupRequest {
	t.Helper()
	r.mu.Lock()
	n := r.n
	r.mu.Unlock()
	testutil.Eventually(t, wait, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.n >= n+2 }, "no cleanup")
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// TestAgent_CleanupOnlyWhileRegistered: the agent cleans up its own
// session's leftovers all along, and lets dead processes' (other sessions')
// go only while the backend names this session the registered one: from
// the Ack of its hello (or a Pong) naming it, until an Unknown. Running
// attempts are never removed.
func TestAgent_CleanupOnlyWhileRegistered(t *testing.T) {
	t.Parallel()
	left := []messages.JobAttempt{{JobID: "old", Attempt: 1}, {JobID: "older", Attempt: 3}}
	f := fake.New(fake.Options{Leftovers: left})
	rt := &recordingRuntime{Runtime: f}
	e := start(t, options{runtime: rt, unaccepted: true,
		cfg: Config{Installation: "inst-1", CleanupInterval: time.Millisecond}})
	mine := e.hello.Session

	steps := []struct {
		name    string
		send    messages.Message // nil: nothing
		others  bool
		removed int
	}{
		{"before the hello is accepted", nil, false, 0},
		{"an Ack for another process", &messages.Ack{Session: "another-process"}, false, 0},
		{"an Ack naming no session (older backend)", &messages.Ack{}, false, 0},
		{"the Ack of this hello", &messages.Ack{Session: mine}, true, 2},
		{"Unknown: the backend lost this process", &messages.Unknown{Session: mine}, false, 2},
		{"a Pong naming this process", &messages.Pong{Session: mine}, true, 2},
	}
	for i, s := range steps {
		if s.send != nil {
			e.backend.toAgent(e.cfg.ID, s.send)
		}
		var req containers.CleanupRequest
		testutil.Eventually(t, wait, func() bool { req = rt.after(t); return req.Others == s.others }, s.name)
		if req.Installation != "inst-1" || req.Session != mine || req.Keep == nil {
			t.Errorf("%s: request %+v", s.name, req)
		}
		if got := f.Stats().Removed; got != s.removed {
			t.Errorf("%s: removed %d, want %d", s.name, got, s.removed)
		}
		if i == 3 {
			e.submit(t, newJob("busy", map[string]any{"hang": true}))
		}
	}
	if got := e.agent.Running(); len(got) != 1 || got[0].JobID != "busy" {
		t.Errorf("Running() = %v: a cleanup removed a running attempt", got)
	}
}
