package backend

import (
	"fmt"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// quiz is a job of the instant environment type (a multiple-choice task).
func quiz(id string) *messages.ClientNewJob {
	j := newJob(id, messages.InstantEnvironmentType, 0)
	j.EnvironmentType = messages.InstantEnvironmentType
	return j
}

// TestInstantJobsTakeNoSlot: quizzes (messages.Instant) are dispatched to
// an agent whose slots programs hold, up to messages.InstantSlots at once
// besides, and hold none of its slots: a program still waits for a slot.
// Before, a deadline's quizzes waited behind its programs (a median of
// 16 s, up to 275 s, behind Java jobs of 30 to 90 s), where INGInious'
// MCQ agent answers them at once.
func TestInstantJobsTakeNoSlot(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	a := r.agent("a1", 1, "docker/default", "mcq/mcq")
	c.submit(newJob("prog-1", "default", 0))
	if j := a.take(); j.JobID != "prog-1" {
		t.Fatalf("got %s, want prog-1", j.JobID)
	}
	c.submit(newJob("prog-2", "default", 0)) // waits: the one slot is taken
	n := messages.InstantSlots + 3
	for i := range n {
		c.submit(quiz(fmt.Sprintf("quiz-%d", i)))
	}
	var quizzes []*messages.BackendNewJob
	for range messages.InstantSlots {
		j := a.take()
		if j.EnvironmentType != messages.InstantEnvironmentType {
			t.Fatalf("got %s of %s while the slot was busy", j.JobID, j.EnvironmentType)
		}
		quizzes = append(quizzes, j)
	}
	a.quiet(200 * time.Millisecond) // the other three wait for an instant slot, prog-2 for the slot
	a.finish(quizzes[0], messages.StatusSuccess)
	if j := a.take(); j.EnvironmentType != messages.InstantEnvironmentType {
		t.Fatalf("a quiz's end freed the slot: %s was sent", j.JobID)
	}
	a.quiet(200 * time.Millisecond)
}

// TestInstantJobsNotForADrainingAgent: an agent that says it has no slot
// (stopping) takes no quiz either.
func TestInstantJobsNotForADrainingAgent(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	a := r.agent("a1", 0, "docker/default", "mcq/mcq")
	c.submit(quiz("quiz-0"))
	a.quiet(200 * time.Millisecond)
}

// TestInstantJobsNotInAnAgentsSlotCount: the queue's agent list counts
// the jobs holding an agent's slots, not its quizzes (an agent of one
// slot was shown "65 of 1").
func TestInstantJobsNotInAnAgentsSlotCount(t *testing.T) {
	b, now := frozenBackend(t)
	def, mcq := topic{"docker", "default"}, topic{messages.InstantEnvironmentType, "mcq"}
	b.agents["a"] = &agent{id: "a", slots: 1, topics: []topic{def, mcq}, hasInstant: true, running: map[string]*job{}}
	b.apply(&JobQueued{Job: newJob("prog", "default", 0), ClientID: "c", Seq: 1, At: now})
	b.apply(&JobQueued{Job: quiz("quiz"), ClientID: "c", Seq: 2, At: now})
	for _, id := range []string{"prog", "quiz"} {
		b.apply(&JobAssigned{JobID: id, AgentID: "a", Attempt: 1, At: now})
	}
	if got := b.agentList(); len(got) != 1 || got[0].Running != 1 || got[0].Slots != 1 {
		t.Errorf("agents %+v, want one running of one slot", got)
	}
}
