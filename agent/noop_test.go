package agent

import (
	"fmt"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/containers/noop"
	"github.com/ingo-grader/ingo/messages"
)

// A backend that fills every slot and sends a new job as soon as a result
// arrives never over-commits the agent: the slot is free before the
// result is sent.
func TestAgent_Noop_SlotFreedBeforeResult(t *testing.T) {
	t.Parallel()
	rt, err := noop.New()
	if err != nil {
		t.Fatal(err)
	}
	const slots, jobs = 4, 400
	e := start(t, options{cfg: Config{Slots: slots, ResultRetry: time.Hour}, runtime: rt})
	e.backend.autoAck.Store(true)
	sent := 0
	send := func() {
		e.backend.toAgent(e.cfg.ID, newJob(fmt.Sprintf("n%d", sent), nil))
		sent++
	}
	for range slots {
		send()
	}
	for done := 0; done < jobs; done++ {
		m, _ := expect[*messages.AgentJobDone](t, e.backend, nil)
		if m.Result.Status != messages.StatusSuccess || m.Result.Text != "noop" {
			t.Fatalf("job %s: %s", m.JobID, status(m))
		}
		if sent < jobs {
			send()
		}
	}
	if s := e.agent.Stats(); s.JobsOverCommit != 0 || s.Results != jobs {
		t.Errorf("stats %+v", s)
	}
}
