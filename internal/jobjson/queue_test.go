package jobjson

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// One shape for the CLI and the API: the keys, never-null lists, the
// elapsed seconds of a running job, and the visibility filter.
func TestNewQueue(t *testing.T) {
	now := time.UnixMilli(1_700_000_010_000)
	q := &messages.BackendGetQueue{
		JobsRunning: []messages.QueueRunningJob{{JobID: "r1", StartedAt: now.UnixMilli() - 2500}, {JobID: "r2", StartedAt: now.UnixMilli()}},
		JobsWaiting: []messages.QueueWaitingJob{{JobID: "w1"}},
		Agents:      []messages.QueueAgent{{Name: "a"}},
	}
	all := NewQueue(q, now, nil)
	data, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"running":[`, `"waiting":[`, `"agents":[`, `"running_count":2`, `"waiting_count":1`, `"elapsed":2.5`, `"environments":[]`, `"counts":[]`} {
		if !strings.Contains(string(data), k) {
			t.Errorf("%s lacks %s", data, k)
		}
	}
	mine := NewQueue(q, now, func(id string) bool { return id == "r2" })
	if len(mine.Running) != 1 || mine.Running[0].JobID != "r2" || len(mine.Waiting) != 0 || mine.RunningCount != 2 {
		t.Fatalf("filtered %+v: want r2 listed, counts of all", mine)
	}
	empty, _ := json.Marshal(NewQueue(&messages.BackendGetQueue{}, now, nil))
	if strings.Contains(string(empty), "null") {
		t.Fatalf("empty snapshot has nulls: %s", empty)
	}
}
