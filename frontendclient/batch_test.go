package frontendclient

import (
	"reflect"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// Events that come together in one batch reach each job in order, as if
// each had come alone; a malformed item beside them is counted and
// dropped alone.
func TestEventsInOneBatch(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	j := submit(t, e.c, jobRequest(""))
	client, _ := expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })
	started := &messages.BackendJobStarted{JobID: j.ID(), Agent: "agent-1", Attempt: 1}
	done := &messages.BackendJobDone{JobID: j.ID(), JobResult: messages.NewJobResult(messages.StatusSuccess, "batched", "")}
	var items [][]byte
	for _, m := range []messages.Message{started, done} {
		data, err := messages.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, data, []byte("garbage"))
	}
	batch, err := messages.Encode(&messages.Batch{Messages: items})
	if err != nil {
		t.Fatal(err)
	}
	e.fb.sendRaw(t, client, batch)

	evs := events(t, j)
	if got, want := kinds(evs), []EventKind{EventQueued, EventStarted, EventDone}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if !reflect.DeepEqual(j.Result(), done) {
		t.Errorf("Result() = %+v, want %+v", j.Result(), done)
	}
	// The last item is handled after the result was handed over.
	testutil.Eventually(t, 10*time.Second, func() bool { return e.c.Stats().Malformed == 2 }, "2 malformed items counted")
}
