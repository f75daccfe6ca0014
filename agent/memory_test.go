package agent

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

func withMemory(j *messages.BackendNewJob, mib int64) *messages.BackendNewJob {
	j.EnvironmentParameters.Limits.Memory = mib
	return j
}

// Memory limits of running attempts never add up to more than the agent
// was given: a job that does not fit waits for one to finish; a job larger
// than the whole amount is handed back with a clear reason (another agent
// may have more); a waiting job can be killed.
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
	if r := e.refused(t, "huge"); !strings.Contains(r.Reason, "300 MiB") {
		t.Fatalf("huge: %q", r.Reason)
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

// accountingRuntime is the fake runtime reporting what a job holds as the
// Docker runtime does for its limits: more than Limits.Memory.
type accountingRuntime struct {
	*fake.Runtime
	jobMemory func(messages.Limits) int64
}

func (r accountingRuntime) JobMemory(l messages.Limits) int64 { return r.jobMemory(l) }

// Admission counts what the runtime says a job holds, not its memory
// limit: with 1000 MiB and jobs of 100 MiB that hold 3 × 100 + 8 MiB, three
// run at once (not ten), and the fourth waits for one to end.
func TestAgent_MemoryAdmissionCountsJobMemory(t *testing.T) {
	rt := accountingRuntime{fake.New(fake.Options{}), func(l messages.Limits) int64 { return 3*l.Memory + 8 }}
	e := start(t, options{cfg: Config{Slots: 8, Memory: 1000}, runtime: rt})
	// The fourth comes once three run: submitted together, any of the four
	// could be the one left waiting, and killing j0 then freed nothing (a
	// CI run timed out so).
	for i := range 3 {
		e.submit(t, withMemory(newJob(fmt.Sprintf("j%d", i), map[string]any{"hang": true}), 100))
	}
	testutil.Eventually(t, wait, func() bool { return rt.Stats().Active == 3 }, "three run")
	e.submit(t, withMemory(newJob("j3", map[string]any{"hang": true}), 100))
	if s := e.agent.Stats(); s.MemoryInUse != 3*308 || rt.Stats().Calls != 3 {
		t.Fatalf("agent %+v runtime %+v: want 3 jobs of 308 MiB admitted", s, rt.Stats())
	}
	e.backend.toAgent(e.cfg.ID, &messages.BackendKillJob{JobID: "j0", Attempt: 1})
	e.done(t, "j0")
	testutil.Eventually(t, wait, func() bool { return rt.Stats().Calls == 4 }, "the fourth runs once one ended")
	if s := rt.Stats(); s.MaxActive != 3 {
		t.Fatalf("runtime %+v: at most three 308 MiB jobs fit in 1000 MiB", s)
	}

	// One that could never fit says what it needs.
	e.submit(t, withMemory(newJob("huge", nil), 400))
	if r := e.refused(t, "huge"); !strings.Contains(r.Reason, "1208 MiB") {
		t.Fatalf("huge: %q", r.Reason)
	}
}
