package backend

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// loaderJournal is a synchronous Journal that can read descriptions back:
// it keeps each JobQueued's job as encoded, as a durable journal would.
type loaderJournal struct {
	mu      sync.Mutex
	jobs    map[string][]byte
	lost    map[string]bool // LoadJob says gone for good
	failing int             // LoadJob fails this many more times, passing
	loads   int
}

func newLoaderJournal() *loaderJournal {
	return &loaderJournal{jobs: map[string][]byte{}, lost: map[string]bool{}}
}

func (l *loaderJournal) Record(t Transition) error {
	if q, ok := t.(*JobQueued); ok {
		data, err := messages.Encode(q.Job)
		if err != nil {
			return err
		}
		l.mu.Lock()
		l.jobs[q.Job.JobID] = data
		l.mu.Unlock()
	}
	return nil
}

func (l *loaderJournal) LoadJob(id string) (*messages.ClientNewJob, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loads++
	if l.failing > 0 {
		l.failing--
		return nil, errors.New("stream leader election in progress")
	}
	data, ok := l.jobs[id]
	if !ok || l.lost[id] {
		return nil, fmt.Errorf("no record of %s: %w", id, ErrNoDescription)
	}
	m, err := messages.Decode(data)
	if err != nil {
		return nil, err
	}
	return m.(*messages.ClientNewJob), nil
}

func spillJob(id string) *messages.ClientNewJob {
	j := newJob(id, "default", 0)
	j.InputData = map[string]any{"q1": "answer of " + id, "@state": "state of " + id, "@username": "u-" + id}
	j.WaitForEnvironment = true // the agent comes later
	return j
}

// Beyond QueueMemoryJobs, a job keeps only its head; its agent still gets
// the whole description, read back from the journal at dispatch.
func TestSpill_DescriptionsBeyondTheBoundAreReadBackAtDispatch(t *testing.T) {
	l := newLoaderJournal()
	r := newRig(t, func(c *Config) { c.Journal, c.QueueMemoryJobs = l, 2 })
	c := r.client("c1")
	for i := range 5 {
		c.submit(spillJob(fmt.Sprintf("j%d", i)))
	}
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().DescriptionsSpilled == 3 },
		"want 3 descriptions spilled")
	a := r.agent("a", 1, "docker/default")
	for range 5 {
		j := a.take()
		if got, want := j.InputData["q1"], "answer of "+j.JobID; got != want {
			t.Fatalf("%s reached its agent with q1 = %v, want %q", j.JobID, got, want)
		}
		if j.TaskID != "t" || j.CourseID != "c" {
			t.Fatalf("%s reached its agent without its task: %+v", j.JobID, j.JobDescription)
		}
		a.finish(j, messages.StatusSuccess)
		if d := next[*messages.BackendJobDone](c); d.JobID != j.JobID || d.Result.Status != messages.StatusSuccess {
			t.Fatalf("result %+v for %s", d, j.JobID)
		}
		c.send(&messages.Ack{JobID: j.JobID})
	}
	if s := r.b.Stats(); s.DescriptionsLoaded != 3 || s.DescriptionLoadErrors != 0 {
		t.Fatalf("loaded %d (errors %d), want 3 (0)", s.DescriptionsLoaded, s.DescriptionLoadErrors)
	}
}

// A description that cannot be read now (a stream leader election) leaves
// its job waiting; it is dispatched once the read works.
func TestSpill_AFailedReadLeavesTheJobWaiting(t *testing.T) {
	l := newLoaderJournal()
	r := newRig(t, func(c *Config) { c.Journal, c.QueueMemoryJobs = l, 1 })
	c := r.client("c1")
	c.submit(spillJob("j0"))
	c.submit(spillJob("j1"))
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().DescriptionsSpilled == 1 }, "j1 not spilled")
	l.mu.Lock()
	l.failing = 3
	l.mu.Unlock()
	a := r.agent("a", 2, "docker/default")
	got := map[string]bool{}
	for range 2 {
		j := a.take()
		if j.InputData["q1"] != "answer of "+j.JobID {
			t.Fatalf("%s without its answer", j.JobID)
		}
		got[j.JobID] = true
	}
	if !got["j0"] || !got["j1"] {
		t.Fatalf("dispatched %v, want j0 and j1", got)
	}
	if s := r.b.Stats(); s.DescriptionLoadErrors < 3 {
		t.Fatalf("load errors %d, want at least 3", s.DescriptionLoadErrors)
	}
}

// A description gone for good ends its job as crash, and the jobs after
// it are not held up.
func TestSpill_ALostDescriptionEndsItsJobAndTheQueueMoves(t *testing.T) {
	l := newLoaderJournal()
	r := newRig(t, func(c *Config) { c.Journal, c.QueueMemoryJobs = l, 1 })
	c := r.client("c1")
	for i := range 3 {
		c.submit(spillJob(fmt.Sprintf("j%d", i)))
	}
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().DescriptionsSpilled == 2 }, "j1, j2 not spilled")
	l.mu.Lock()
	l.lost["j1"] = true
	l.mu.Unlock()
	a := r.agent("a", 1, "docker/default")
	for _, want := range []string{"j0", "j2"} {
		j := a.take()
		if j.JobID != want {
			t.Fatalf("dispatched %s, want %s", j.JobID, want)
		}
		a.finish(j, messages.StatusSuccess)
	}
	results := map[string]messages.Status{}
	for len(results) < 3 {
		d := next[*messages.BackendJobDone](c)
		results[d.JobID] = d.Result.Status
	}
	if results["j1"] != messages.StatusCrash || results["j0"] != messages.StatusSuccess || results["j2"] != messages.StatusSuccess {
		t.Fatalf("results %v, want j1 crash and the others success", results)
	}
}

// Killing a spilled waiting job gives the state it started from, read
// back from the journal, as INGInious does.
func TestSpill_AKilledSpilledJobKeepsItsPreviousState(t *testing.T) {
	l := newLoaderJournal()
	r := newRig(t, func(c *Config) { c.Journal, c.QueueMemoryJobs = l, 1 })
	c := r.client("c1")
	c.submit(spillJob("j0"))
	c.submit(spillJob("j1"))
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().DescriptionsSpilled == 1 }, "j1 not spilled")
	c.send(&messages.ClientKillJob{JobID: "j1"})
	d := next[*messages.BackendJobDone](c)
	if d.JobID != "j1" || d.Result.Status != messages.StatusKilled || d.State != "state of j1" {
		t.Fatalf("kill gave %+v, want j1 killed with state %q", d, "state of j1")
	}
}

// gateLoader reads back only what its gateJournal stored.
type gateLoader struct{ *gateJournal }

func (g gateLoader) LoadJob(id string) (*messages.ClientNewJob, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range g.appended[:g.stored] {
		if q, ok := t.(*JobQueued); ok && q.Job.JobID == id {
			return q.Job, nil
		}
	}
	return nil, fmt.Errorf("%s is not stored: %w", id, ErrNoDescription)
}

// With group commit, a description is dropped only once its JobQueued is
// stored: before, nothing could read it back.
func TestSpill_NothingIsSpilledBeforeItIsStored(t *testing.T) {
	g := gateLoader{newGateJournal()}
	r := newRig(t, func(c *Config) { c.Journal, c.QueueMemoryJobs, c.EnvironmentGrace = g, 1, time.Hour })
	c := r.client("c1")
	c.send(spillJob("j0"))
	c.send(spillJob("j1"))
	testutil.Eventually(t, wait, func() bool { return g.count() == 2 }, "jobs not appended")
	time.Sleep(200 * time.Millisecond)
	if n := r.b.Stats().DescriptionsSpilled; n != 0 {
		t.Fatalf("%d descriptions spilled before they were stored", n)
	}
	g.storeAll(nil)
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().DescriptionsSpilled == 1 }, "j1 not spilled once stored")
}

// A frontend chooses its jobs' size, up to one NATS message: a review's
// frontend queued 150 jobs of 7 MiB that waited for an environment nobody
// offered, and the backend kept every description, 1.1 GB live (its heap
// grew to 2.2 GB), under QueueMemoryJobs' 10,000; more such jobs held as
// much as the journal's bound, 4 GiB by default. QueueMemoryBytes bounds
// their bytes too; the spilled ones still reach their agent whole.
func TestSpill_DescriptionsBeyondTheByteBoundAreSpilled(t *testing.T) {
	if d := DefaultConfig().QueueMemoryBytes; d <= 0 || d > 1<<30 {
		t.Fatalf("default QueueMemoryBytes %d, want a bound of at most 1 GiB", d)
	}
	l := newLoaderJournal()
	r := newRig(t, func(c *Config) { c.Journal, c.QueueMemoryBytes = l, 300<<10 })
	c := r.client("c1")
	big := strings.Repeat("x", 100<<10)
	for i := range 6 {
		j := spillJob(fmt.Sprintf("j%d", i))
		j.InputData["big"] = big
		c.submit(j)
	}
	// The first two fit (about 200 KiB); the third goes over, and so does
	// every later one.
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().DescriptionsSpilled == 4 },
		"want 4 descriptions spilled")
	a := r.agent("a", 1, "docker/default")
	for range 6 {
		j := a.take()
		if j.InputData["big"] != big || j.InputData["q1"] != "answer of "+j.JobID {
			t.Fatalf("%s reached its agent without its inputs", j.JobID)
		}
		a.finish(j, messages.StatusSuccess)
		next[*messages.BackendJobDone](c)
		c.send(&messages.Ack{JobID: j.JobID})
	}
	if s := r.b.Stats(); s.DescriptionsLoaded != 4 {
		t.Fatalf("loaded %d descriptions back, want 4", s.DescriptionsLoaded)
	}
}

// A description read back to dispatch its job is not held after: a job
// handed back (or lost with its agent) reads it back again. Before, each
// read-back description stayed in memory until its job ended, outside
// backend.queue-memory-jobs and -bytes: an agent lost with a hundred
// large jobs brought them all back into memory.
func TestSpill_AReadBackDescriptionIsNotHeld(t *testing.T) {
	l := newLoaderJournal()
	r := newRig(t, func(c *Config) { c.Journal, c.QueueMemoryJobs = l, 1 })
	c := r.client("c1")
	c.submit(spillJob("j0"))
	c.submit(spillJob("j1")) // beyond the bound
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().DescriptionsSpilled == 1 },
		"want 1 description spilled")
	a := r.agent("a", 2, "docker/default")
	var j1 *messages.BackendNewJob
	for range 2 {
		if j := a.take(); j.JobID == "j1" {
			j1 = j
		}
	}
	if s := r.b.Stats(); j1 == nil || s.DescriptionsLoaded != 1 {
		t.Fatalf("j1 %v, loaded %d, want 1", j1 != nil, s.DescriptionsLoaded)
	}
	a.send(&messages.AgentJobRefused{JobID: "j1", Attempt: j1.Attempt, Reason: "no memory"})
	again := a.take()
	if again.JobID != "j1" || again.InputData["q1"] != "answer of j1" {
		t.Fatalf("sent again: %s with %v", again.JobID, again.InputData)
	}
	if s := r.b.Stats(); s.DescriptionsLoaded != 2 {
		t.Errorf("loaded %d descriptions back, want 2: the first read was held", s.DescriptionsLoaded)
	}
}

// A description is counted by what it holds decoded, not only by its
// bytes on the wire: a map of one entry is 3 bytes of CBOR and about 330
// of Go, and a review's jobs of 8 MiB, arrays of such maps in their
// inputs, held 1 GiB each while waiting (4 of them, 4.3 GB of the ingo up
// process), where QueueMemoryBytes' 256 MiB let 32 stay.
func TestSpill_DescriptionsAreCountedAsDecoded(t *testing.T) {
	l := newLoaderJournal()
	r := newRig(t, func(c *Config) { c.Journal, c.QueueMemoryBytes = l, 1<<20 })
	c := r.client("c1")
	maps := make([]any, 20000) // 60 KB on the wire, about 7 MB decoded
	for i := range maps {
		maps[i] = map[string]any{"": nil}
	}
	for i := range 3 {
		j := spillJob(fmt.Sprintf("j%d", i))
		j.InputData["maps"] = maps
		c.submit(j)
	}
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().DescriptionsSpilled == 3 },
		"want 3 descriptions spilled")
	if est := heldBytes(&messages.JobDescription{InputData: map[string]any{"maps": maps}}); est < 4<<20 || est > 16<<20 {
		t.Errorf("20,000 maps of one entry estimated at %d bytes", est)
	}
}
