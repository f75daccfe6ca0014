package backend

import (
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// An agent that is shutting down says hello with 0 slots while it still
// runs jobs. Its negative free count must not hide another agent's slot.
func TestDrainingAgentDoesNotHideFreeSlots(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	a := r.agent("a", 2, "docker/default")
	c.submit(newJob("j1", "default", 0))
	c.submit(newJob("j2", "default", 0))
	a.take()
	a.take()
	a.hello(0, []string{"docker/default"}, []messages.JobAttempt{{JobID: "j1", Attempt: 1}, {JobID: "j2", Attempt: 1}}, 2)
	b := r.agent("b", 1, "docker/default")
	c.submit(newJob("j3", "default", 0))
	if j := b.take(); j.JobID != "j3" {
		t.Fatalf("got %s", j.JobID)
	}
}
