package backend

import (
	"reflect"
	"sync"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// wireJournal keeps a copy of each queued job's wire form, and of each
// result's.
type wireJournal struct {
	mu     sync.Mutex
	wire   map[string][]byte
	result map[string][]byte
}

func (w *wireJournal) Record(t Transition) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch t := t.(type) {
	case *JobQueued:
		w.wire[t.Job.JobID] = append([]byte(nil), t.Wire...)
	case *JobFinished:
		if w.result != nil {
			w.result[t.Result.JobID] = append([]byte(nil), t.Wire...)
		}
	}
	return nil
}

// A result is encoded once: the journal is handed the encoding of what
// the client then receives.
func TestFinishedJobCarriesItsWireForm(t *testing.T) {
	w := &wireJournal{wire: map[string][]byte{}, result: map[string][]byte{}}
	r := newRig(t, func(c *Config) { c.Journal = w })
	a := r.agent("a1", 1, "docker/default")
	c := r.client("c1")
	c.submit(newJob("j1", "default", 0))
	j := next[*messages.BackendNewJob](a.peer)
	a.SendBatch(&messages.AgentJobStarted{JobID: j.JobID, Attempt: j.Attempt},
		&messages.AgentJobDone{JobID: j.JobID, Attempt: j.Attempt, JobResult: messages.JobResult{
			Result: messages.Result{Status: messages.StatusSuccess, Text: "ok"}, Grade: 100, Archive: []byte("tgz")}})
	got := next[*messages.BackendJobDone](c)
	w.mu.Lock()
	defer w.mu.Unlock()
	m, err := messages.Decode(w.result["j1"])
	if err != nil {
		t.Fatalf("the journal's result does not decode: %v (%x)", err, w.result["j1"])
	}
	if !reflect.DeepEqual(m, got) {
		t.Errorf("the journal holds %+v, the client got %+v", m, got)
	}
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
