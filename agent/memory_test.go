package agent

import (
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

func withMemory(j *messages.BackendNewJob, mib int64) *messages.BackendNewJob {
	j.EnvironmentParameters.Limits.Memory = mib
	return j
}

// Memory limits of running attempts never add up to more than the agent
// was given: a job that does not fit waits for one to finish; a job larger
// than the whole amount crashes with a clear text; a waiting job can be
// killed.
func TestAgent_MemoryAdmission(t *testing.T) {
	e := start(t, options{cfg: Config{Slots: 4, Memory: 300}})
	first := withMemory(newJob("first", map[string]any{"hang": true}), 200)
	second := withMemory(newJob("second", nil), 200)
	third := withMemory(newJob("third", map[string]any{"hang": true}), 200)
	e.submit(t, first)
	testutil.Eventually(t, wait, func() bool { return e.rt.Stats().Active == 1 }, "first runs")
	e.submit(t, second)
	e.submit(t, third)
	if s := e.agent.Stats(); s.MemoryInUse != 200 || e.rt.Stats().Calls != 1 {
		t.Fatalf("second or third admitted over the memory bound: agent %+v runtime %+v", s, e.rt.Stats())
	}

	huge := withMemory(newJob("huge", nil), 400)
	e.submit(t, huge)
	if d := e.done(t, "huge"); d.Result.Status != messages.StatusCrash || !strings.Contains(d.Result.Text, "300 MiB") {
		t.Fatalf("huge: %s", status(d))
	}

	// Killing the third while it waits for memory: killed, never run.
	e.backend.toAgent(e.cfg.ID, &messages.BackendKillJob{JobID: "third", Attempt: 1})
	if d := e.done(t, "third"); d.Result.Status != messages.StatusKilled {
		t.Fatalf("third: %s", status(d))
	}
	// Ending the first admits the second.
	e.backend.toAgent(e.cfg.ID, &messages.BackendKillJob{JobID: "first", Attempt: 1})
	e.done(t, "first")
	if d := e.done(t, "second"); d.Result.Status != messages.StatusSuccess {
		t.Fatalf("second: %s", status(d))
	}
	if s := e.rt.Stats(); s.MaxActive != 1 || s.Calls != 2 {
		t.Fatalf("runtime %+v: at most one 200 MiB job fits in 300 MiB", s)
	}
	testutil.Eventually(t, wait, func() bool { return e.agent.Stats().MemoryInUse == 0 }, "memory released")
}
