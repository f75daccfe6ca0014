package agent

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/containers/noop"
	"github.com/ingo-grader/ingo/messages"
)

// Jobs that come together in one batch all run, a malformed item beside
// them is dropped alone, and the agent's own messages (started, results)
// reach the backend whether they travel alone or together.
func TestAgent_Batch(t *testing.T) {
	t.Parallel()
	rt, err := noop.New()
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, options{cfg: Config{Slots: 8, ResultRetry: time.Hour}, runtime: rt})
	e.backend.autoAck.Store(true)
	var items [][]byte
	for i := range 6 {
		data, err := messages.Encode(newJob(fmt.Sprintf("b%d", i), nil))
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, data)
		if i == 2 {
			items = append(items, []byte("garbage"))
		}
	}
	batch, err := messages.Encode(&messages.Batch{Messages: items})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.backend.nc.PublishMsg(&nats.Msg{Subject: e.backend.subj.Agent(e.cfg.ID), Data: batch}); err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	for len(done) < 6 { // in any order: the jobs run side by side
		m, _ := expect[*messages.AgentJobDone](t, e.backend, nil)
		if m.Result.Status != messages.StatusSuccess || done[m.JobID] {
			t.Errorf("job %s: %s (again: %v)", m.JobID, status(m), done[m.JobID])
		}
		done[m.JobID] = true
	}
	if s := e.agent.Stats(); s.Malformed != 1 || s.Results != 6 {
		t.Errorf("stats %+v: want 1 malformed, 6 results", s)
	}
}
