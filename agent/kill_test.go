package agent

import (
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

func TestAgent_Kill_Running(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fake map[string]any
	}{
		{"hung", map[string]any{"hang": true}},
		{"sleeping", map[string]any{"sleep": "1h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, options{})
			j := newJob("k", tt.fake)
			j.InputData["@state"] = "s1"
			j.EnvironmentParameters.Limits.HardTime = 3600
			e.submit(t, j)
			testutil.Eventually(t, wait, func() bool { return e.rt.Stats().Started == 1 }, "job never ran")
			kill := &messages.BackendKillJob{JobID: "k", Attempt: 1}
			e.backend.toAgent(e.cfg.ID, kill)
			e.backend.toAgent(e.cfg.ID, kill) // idempotent
			m := e.done(t, "k")
			if m.Result.Status != messages.StatusKilled || m.Result.Text != textKilled || m.State != "s1" {
				t.Errorf("killed job: %s", status(m))
			}
			e.ack(m)
			testutil.Eventually(t, wait, func() bool { return e.agent.Stats().PendingResults == 0 }, "not acked")
			if s := e.agent.Stats(); s.Results != 1 || s.Kills+s.KillsIgnored != 2 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestAgent_Kill_DuringStart(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	e.submit(t, newJob("slow-start", map[string]any{"block_start": true}))
	testutil.Eventually(t, wait, func() bool { return e.rt.Blocked("slow-start") }, "runtime never blocked in start")
	e.backend.toAgent(e.cfg.ID, &messages.BackendKillJob{JobID: "slow-start", Attempt: 1})
	m := e.done(t, "slow-start")
	if m.Result.Status != messages.StatusKilled {
		t.Errorf("killed during start: %s", status(m))
	}
	e.rt.Release("slow-start") // too late, and harmless
	if s := e.rt.Stats(); s.Started != 0 || s.Active != 0 {
		t.Errorf("the killed job ran anyway: %+v", s)
	}
}

func TestAgent_Kill_Unknown(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	e.backend.toAgent(e.cfg.ID, &messages.BackendKillJob{JobID: "ghost", Attempt: 3, State: "ghost-state"})
	m := e.done(t, "ghost")
	if m.Attempt != 3 || m.Result.Status != messages.StatusKilled || m.State != "ghost-state" {
		t.Errorf("kill of an unknown attempt: attempt %d %s", m.Attempt, status(m))
	}
	if e.agent.Stats().KillsUnknown != 1 {
		t.Errorf("not counted")
	}
}

// A kill for an attempt that finished is ignored, even once the backend
// refused its result: otherwise a backend that answers a stale result with
// a kill and an agent that answers an unknown kill with a result would
// bounce messages forever.
func TestAgent_Kill_Finished(t *testing.T) {
	t.Parallel()
	e := start(t, options{cfg: Config{ResultRetry: time.Hour}})
	e.submit(t, newJob("over", nil))
	e.done(t, "over")
	e.backend.toAgent(e.cfg.ID, &messages.Error{Code: messages.CodeStaleAttempt, JobID: "over", Attempt: 1})
	e.backend.toAgent(e.cfg.ID, &messages.BackendKillJob{JobID: "over", Attempt: 1})
	// Messages are handled in order: the answer to this probe comes after
	// anything the previous kill could have caused.
	e.backend.toAgent(e.cfg.ID, &messages.BackendKillJob{JobID: "probe", Attempt: 1})
	m, _ := expect[*messages.AgentJobDone](t, e.backend, nil)
	if m.JobID != "probe" {
		t.Errorf("the kill of a finished attempt was answered: %s %s", m.JobID, status(m))
	}
	if s := e.agent.Stats(); s.KillsIgnored != 1 || s.ResultsRefused != 1 {
		t.Errorf("stats %+v", s)
	}
	// Nor does the finished attempt run again if the job comes back.
	e.backend.toAgent(e.cfg.ID, newJob("over", nil))
	testutil.Eventually(t, wait, func() bool { return e.agent.Stats().JobsDuplicate == 1 }, "duplicate not counted")
	if e.rt.Stats().Calls != 1 || len(e.agent.Running()) != 0 {
		t.Errorf("finished attempt ran again")
	}
}
