package agent

import (
	"fmt"
	"testing"

	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestAgent_InstantJobsTakeNoSlot: while a program holds the agent's one
// slot and all of its memory, quizzes (messages.Instant) still run, up to
// messages.InstantSlots at once, and the next one past them is refused
// as over-committed; a program is still refused while the slot is held.
// Before, every quiz was refused "every slot is busy".
func TestAgent_InstantJobsTakeNoSlot(t *testing.T) {
	t.Parallel()
	e := start(t, options{cfg: Config{Slots: 1, Memory: 300},
		fake: fake.Options{Environments: map[string][]string{"docker": {"default"}, messages.InstantEnvironmentType: {"mcq"}}}})
	prog := newJob("prog", map[string]any{"hang": true})
	prog.EnvironmentParameters.Limits.Memory = 256
	e.submit(t, prog)
	testutil.Eventually(t, wait, func() bool { return e.rt.Stats().Active == 1 }, "the program never ran")
	quiz := func(i int) *messages.BackendNewJob {
		j := newJob(fmt.Sprintf("quiz-%d", i), map[string]any{"hang": true})
		j.EnvironmentType, j.Environment = messages.InstantEnvironmentType, "mcq"
		j.EnvironmentParameters.Limits.Memory = 100
		return j
	}
	for i := range messages.InstantSlots {
		e.submit(t, quiz(i))
	}
	testutil.Eventually(t, wait, func() bool { return e.rt.Stats().Active == 1+messages.InstantSlots }, "the quizzes never ran")
	e.backend.toAgent(e.cfg.ID, quiz(messages.InstantSlots))
	if r := e.refused(t, fmt.Sprintf("quiz-%d", messages.InstantSlots)); r.Reason != textNoSlot {
		t.Errorf("a quiz past the instant slots: %q", r.Reason)
	}
	e.backend.toAgent(e.cfg.ID, newJob("prog-2", nil))
	if r := e.refused(t, "prog-2"); r.Reason != textNoSlot {
		t.Errorf("a program while the slot is held: %q", r.Reason)
	}
	// A quiz's end frees an instant slot.
	e.backend.toAgent(e.cfg.ID, &messages.BackendKillJob{JobID: "quiz-0", Attempt: 1})
	e.done(t, "quiz-0")
	e.submit(t, quiz(messages.InstantSlots+1))
	testutil.Eventually(t, wait, func() bool { return e.rt.Stats().Active == 1+messages.InstantSlots }, "a quiz after one ended never ran")
}
