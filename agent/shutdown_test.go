package agent

import (
	"errors"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

func TestAgent_Shutdown_HandsBackHungJobs(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	e.backend.autoAck.Store(true)
	j := newJob("hung", map[string]any{"hang": true})
	j.InputData["@state"] = "st"
	e.submit(t, j)
	testutil.Eventually(t, wait, func() bool { return e.rt.Stats().Started == 1 }, "job never ran")
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	// Run returned only once the result was acknowledged, so it is here.
	h, _ := expect[*messages.AgentHello](t, e.backend, nil)
	if h.AvailableJobSlots != 0 || len(h.RunningJobs) != 1 {
		t.Errorf("shutdown hello: slots %d running %v", h.AvailableJobSlots, h.RunningJobs)
	}
	// Handed back, not a crash: the backend queues it again, as it does
	// the jobs of an agent that died (a graceful stop must not be worse
	// for the student than a kill -9).
	if m := e.refused(t, "hung"); m.Attempt != 1 || m.Reason != textShutdown {
		t.Errorf("job cut by shutdown: refusal %+v", m)
	}
	if s := e.agent.Stats(); s.PendingResults != 0 || s.Running != 0 {
		t.Errorf("after Run: %+v", s)
	}
	if e.rt.Stats().Closes != 1 {
		t.Errorf("runtime not closed")
	}
}

func TestAgent_Shutdown_GraceLetsJobsFinish(t *testing.T) {
	t.Parallel()
	e := start(t, options{cfg: Config{ShutdownGrace: time.Hour}})
	e.backend.autoAck.Store(true)
	e.submit(t, newJob("hung", map[string]any{"hang": true}))
	e.submit(t, newJob("short", map[string]any{"block_start": true}))
	// AgentJobStarted leaves before the attempt reaches the runtime: wait
	// until both are in it, so that the shutdown finds them running.
	testutil.Eventually(t, 5*time.Second, func() bool { return e.rt.Stats().Calls == 2 }, "jobs not in the runtime")
	e.cancel()
	expect(t, e.backend, func(h *messages.AgentHello) bool { return h.AvailableJobSlots == 0 })

	// Still serving: a finishing job reports success; a new job is refused.
	e.rt.Release("short")
	if m := e.done(t, "short"); m.Result.Status != messages.StatusSuccess {
		t.Errorf("job finishing during the grace period: %s", status(m))
	}
	e.backend.toAgent(e.cfg.ID, newJob("late", nil))
	if r := e.refused(t, "late"); r.Reason != textShutdownNew {
		t.Errorf("job sent during shutdown: %q", r.Reason)
	}
	// The last running job ends: Run returns.
	e.backend.toAgent(e.cfg.ID, &messages.BackendKillJob{JobID: "hung", Attempt: 1})
	if m := e.done(t, "hung"); m.Result.Status != messages.StatusKilled {
		t.Errorf("killed during the grace period: %s", status(m))
	}
	if err := e.wait(); err != nil {
		t.Fatal(err)
	}
	if n := e.rt.Stats().Calls; n != 2 {
		t.Errorf("runtime ran %d jobs, want 2", n)
	}
}

func TestAgent_Shutdown_GivesUpOnSilentBackend(t *testing.T) {
	t.Parallel()
	e := start(t, options{cfg: Config{FlushTimeout: time.Millisecond}})
	e.submit(t, newJob("j", nil))
	e.done(t, "j") // never acknowledged
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	if e.agent.Stats().PendingResults != 1 {
		t.Errorf("result forgotten without an answer")
	}
}

func TestAgent_Run_Twice(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	if err := e.agent.Run(t.Context()); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second Run: %v", err)
	}
}
