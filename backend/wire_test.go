package backend

import (
	"reflect"
	"sync"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// wireJournal keeps a copy of each queued job's wire form.
type wireJournal struct {
	mu   sync.Mutex
	wire map[string][]byte
}

func (w *wireJournal) Record(t Transition) error {
	if q, ok := t.(*JobQueued); ok {
		w.mu.Lock()
		w.wire[q.Job.JobID] = append([]byte(nil), q.Wire...)
		w.mu.Unlock()
	}
	return nil
}

// A job reaches the journal with its own bytes as its client sent them,
// whether it came alone or in a batch: the item, not the NATS message,
// and they decode to the job.
func TestQueuedJobCarriesItsWireForm(t *testing.T) {
	w := &wireJournal{wire: map[string][]byte{}}
	r := newRig(t, func(c *Config) { c.Journal = w })
	r.agent("a1", 1, "docker/default")
	c := r.client("c1")
	alone, second, third := newJob("alone", "default", 0), newJob("second", "default", 0), newJob("third", "default", 0)
	c.submit(alone)
	c.SendBatch(second, third)
	next[*messages.BackendJobQueued](c)
	next[*messages.BackendJobQueued](c)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, job := range []*messages.ClientNewJob{alone, second, third} {
		m, err := messages.Decode(w.wire[job.JobID])
		if err != nil {
			t.Fatalf("%s: its wire form does not decode: %v", job.JobID, err)
		}
		if !reflect.DeepEqual(m, job) {
			t.Errorf("%s: its wire form decodes to %+v", job.JobID, m)
		}
	}
}
