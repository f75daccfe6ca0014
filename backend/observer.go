package backend

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// Observer hears of job events as they happen, for metrics
// (cmd/ingo/metrics implements it). Its methods are called from the event
// loop: they must return at once, never block and never call back into the
// Backend. Config.Observer nil means none. Events rebuilt by replaying the
// journal are not reported.
type Observer interface {
	// JobDispatched: a job was sent to an agent, wait after it was first
	// queued (for a retry, that includes the earlier attempts). From then
	// on the job holds a slot, as the fair share counts it.
	JobDispatched(j ObservedJob, wait time.Duration)
	// JobFinished: a job has its final result with this status. run is
	// the time since its last dispatch, 0 when it never left its queue
	// (killed, or failed, while waiting): the slot-time the fair share
	// charged its course and user.
	JobFinished(j ObservedJob, status messages.Status, run time.Duration)
}

// ObservedJob names the job an Observer hears of: enough to label a
// metric by queue, or to add up slot-time by course and user.
type ObservedJob struct {
	JobID, CourseID, User string
	EnvType, Env          string
}

func observed(j *job) ObservedJob {
	return ObservedJob{JobID: j.head.JobID, CourseID: j.head.CourseID, User: j.head.User,
		EnvType: j.head.EnvironmentType, Env: j.head.Environment}
}

// Gauges are the backend's current sizes, published by the event loop at
// every tick (at most a second old) into a copy that Gauges reads.
type Gauges struct {
	// At is when they were published; zero before Run started.
	At time.Time
	// Queues lists every queue the backend has seen, with its waiting jobs
	// (0 included), sorted by environment type then environment.
	Queues []QueueGauge
	// Agents registered, and their job slots: all of them, and the free ones.
	Agents, Slots, FreeSlots int
	// Waiting jobs (all queues), Running jobs (sent to an agent,
	// confirmed or not).
	Waiting, Running int
	// Clients known, and results sent but not acknowledged by them.
	Clients, Unacked int
}

// QueueGauge is one queue's length.
type QueueGauge struct {
	EnvType, Env string
	Waiting      int
}

// gauges is the copy the event loop publishes; any goroutine reads it.
type gauges struct {
	mu sync.Mutex
	g  Gauges
}

// Gauges returns the last published sizes; safe from any goroutine.
func (b *Backend) Gauges() Gauges {
	b.gauges.mu.Lock()
	defer b.gauges.mu.Unlock()
	g := b.gauges.g
	g.Queues = append([]QueueGauge(nil), g.Queues...)
	return g
}

// publishGauges copies the sizes out of the loop-owned state. Only the
// event loop calls it.
func (b *Backend) publishGauges() {
	g := Gauges{At: b.now(), Agents: len(b.agents), Waiting: b.queues.waiting,
		Running: len(b.jobs) - b.queues.waiting, Clients: len(b.clients), Unacked: b.unackedCount}
	for _, a := range b.agents {
		g.Slots += a.slots
		g.FreeSlots += max(0, a.free())
	}
	g.Queues = make([]QueueGauge, 0, len(b.queues.byTopic))
	for t, q := range b.queues.byTopic {
		g.Queues = append(g.Queues, QueueGauge{EnvType: t.envType, Env: t.env, Waiting: q.Len()})
	}
	slices.SortFunc(g.Queues, func(x, y QueueGauge) int {
		return cmp.Or(strings.Compare(x.EnvType, y.EnvType), strings.Compare(x.Env, y.Env))
	})
	b.gauges.mu.Lock()
	b.gauges.g = g
	b.gauges.mu.Unlock()
}

// observeDispatch and observeFinish report to the Observer, if any.
func (b *Backend) observeDispatch(j *job, at time.Time) {
	if b.cfg.Observer != nil {
		b.cfg.Observer.JobDispatched(observed(j), at.Sub(j.queuedAt.time()))
	}
}

func (b *Backend) observeFinish(j *job, status messages.Status, ran bool, at time.Time) {
	if b.cfg.Observer == nil {
		return
	}
	var run time.Duration
	if ran {
		run = max(at.Sub(j.assignedAt.time()), time.Nanosecond)
	}
	b.cfg.Observer.JobFinished(observed(j), status, run)
}
