package backend

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// recorder is an Observer that remembers what it heard.
type recorder struct {
	mu         sync.Mutex
	dispatched []string
	finished   []string
	runs       map[string]time.Duration
}

func (r *recorder) JobDispatched(j ObservedJob, wait time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if wait < 0 {
		panic("negative wait")
	}
	r.dispatched = append(r.dispatched, j.EnvType+"/"+j.Env)
}

func (r *recorder) JobFinished(j ObservedJob, status messages.Status, run time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished = append(r.finished, j.EnvType+"/"+j.Env+" "+string(status))
	r.runs[string(status)] = run
}

func (r *recorder) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.dispatched), len(r.finished)
}

// Serving is called once, when the backend answers: cmd/ingo tightens the
// collector then, not during the replay.
func TestServingIsCalledOnceWhenServing(t *testing.T) {
	var calls atomic.Int32
	r := newRig(t, func(c *Config) { c.Serving = func() { calls.Add(1) } })
	// newRig returns once the backend answered a client.
	if n := calls.Load(); n != 1 {
		t.Fatalf("Serving called %d times once serving, want 1", n)
	}
	j := newJob("j1", "default", 0)
	j.WaitForEnvironment = true
	r.client("c1").submit(j)
	if n := calls.Load(); n != 1 {
		t.Fatalf("Serving called %d times, want 1", n)
	}
}

// TestObserverAndGauges: the observer hears every dispatch and every end
// (a job killed in its queue never ran), and the published gauges follow
// the queue, the agents and their slots.
func TestObserverAndGauges(t *testing.T) {
	rec := &recorder{runs: map[string]time.Duration{}}
	r := newRig(t, func(c *Config) { c.Observer = rec })
	c := r.client("c1")
	for _, id := range []string{"j1", "j2", "j3"} {
		j := newJob(id, "default", 0)
		j.WaitForEnvironment = true
		c.submit(j)
	}
	testutil.Eventually(t, wait, func() bool {
		g := r.b.Gauges()
		return g.Waiting == 3 && len(g.Queues) == 1 && g.Queues[0] == QueueGauge{EnvType: "docker", Env: "default", Waiting: 3}
	}, "gauges never showed 3 waiting jobs: %+v", r.b.Gauges())

	c.send(&messages.ClientKillJob{JobID: "j3"})
	next[*messages.BackendJobDone](c)
	a := r.agent("a1", 1, "docker/default")
	j := a.take()
	testutil.Eventually(t, wait, func() bool {
		g := r.b.Gauges()
		return g.Agents == 1 && g.Slots == 1 && g.FreeSlots == 0 && g.Running == 1 && g.Waiting == 1
	}, "gauges with one job running: %+v", r.b.Gauges())
	time.Sleep(10 * time.Millisecond)
	a.finish(j, messages.StatusSuccess)
	next[*messages.BackendJobDone](c)
	a.finish(a.take(), messages.StatusFailed)
	next[*messages.BackendJobDone](c)

	testutil.Eventually(t, wait, func() bool { d, f := rec.counts(); return d == 2 && f == 3 },
		"observer heard %v and %v", rec.dispatched, rec.finished)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.runs["killed"] != 0 || rec.runs["success"] < 10*time.Millisecond || rec.runs["failed"] <= 0 {
		t.Errorf("run times %v: want 0 for the job killed in its queue, >= 10ms for the one that ran 10ms", rec.runs)
	}
	want := map[string]bool{"docker/default killed": true, "docker/default success": true, "docker/default failed": true}
	for _, f := range rec.finished {
		if !want[f] {
			t.Errorf("unexpected finish %q", f)
		}
	}
}
