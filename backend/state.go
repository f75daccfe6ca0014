package backend

import (
	"strings"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

type jobPhase uint8

const (
	phaseWaiting  jobPhase = iota // in a topic queue
	phaseAssigned                 // sent to an agent, not confirmed yet
	phaseRunning                  // the agent confirmed it
)

// job is one live job (waiting or on an agent). Finished jobs leave the
// table; their ids stay in done for DoneRetention. A deadline's queue
// holds a million of them, so the fields are packed (times as Unix
// nanoseconds, the small ones together): 240 bytes instead of 288.
type job struct {
	head JobHead
	// desc is the whole description; nil while it is only in the journal
	// (spilled, or replayed without it): loadDesc reads it back.
	desc *messages.ClientNewJob
	// owner is the client the job is for (results, kills, snapshots)
	// and whose course it is, as one string (a job costs no more): the
	// client's id, or "client:frontend" for a frontend an admin client
	// submitted it for (messages.CourseOwner). The
	// fair share and the caps key the course by it, and
	// backend.course-weights names it so.
	owner    string
	seq      uint64 // arrival order, for FIFO within a priority
	queuedAt stamp
	index    int // in its topic queue, -1 when not waiting

	// Set while assigned or running. A waiting job keeps those of its
	// last attempt, if any: only that agent may claim it back.
	attempt     int
	agentID     string
	dispatchSeq uint64 // global dispatch order, for queue snapshots
	agentSeq    uint64 // BackendNewJob.Seq on that agent
	assignedAt  stamp
	phase       jobPhase
	killing     bool
	// descBytes is what desc counts in Backend.hotBytes (spill.go).
	descBytes uint32
}

// stamp is a time as Unix nanoseconds (0: none), 8 bytes where a
// time.Time takes 24. Replayed times carry no monotonic reading anyway.
type stamp int64

func stampOf(t time.Time) stamp {
	if t.IsZero() {
		return 0
	}
	return stamp(t.UnixNano())
}

func (s stamp) time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s))
}

func (j *job) id() string { return j.head.JobID }

func (j *job) topic() topic { return topic{j.head.EnvironmentType, j.head.Environment} }

// leafKey is the job's priority, its owner's course and its user
// (INGInious' "@username" input), which the fair share weighs.
func (j *job) leafKey() leafKey {
	return leafKey{priority: j.head.Priority, shareKey: shareKey{client: j.owner, course: j.head.CourseID, user: j.head.User}}
}

// client is the id of the client the job is for.
func (j *job) client() string {
	c, _, _ := strings.Cut(j.owner, ":")
	return c
}

// before orders waiting jobs: lower priority first, then earlier arrival.
func (j *job) before(o *job) bool {
	if j.head.Priority != o.head.Priority {
		return j.head.Priority < o.head.Priority
	}
	return j.seq < o.seq
}

// maxTime is the CPU limit shown in queue snapshots, -1 when unset.
func (j *job) maxTime() float64 {
	if t := j.head.MaxTime; t > 0 {
		return t
	}
	return -1
}

// agent is one registered agent.
type agent struct {
	id      string
	name    string
	session string
	// since is when this session registered.
	since   time.Time
	slots   int
	running map[string]*job // by job id
	// instant counts the running jobs of an instant environment type
	// (messages.Instant): they take none of the slots, and up to
	// messages.InstantSlots of them run besides.
	instant int
	// hasInstant: some topic it offers is instant.
	hasInstant bool
	topics     []topic
	envs       map[string]map[string]messages.EnvironmentInfo
	lastSeen   time.Time
	// nextSeq numbers the BackendNewJob sent to this agent's session.
	nextSeq uint64
	// lastPick breaks ties between equally busy agents, round robin.
	lastPick uint64
}

// busy is how many of a's slots its running jobs hold.
func (a *agent) busy() int { return len(a.running) - a.instant }

// free is how many more jobs of a topic that is not instant a takes now.
func (a *agent) free() int { return a.slots - a.busy() }

// freeFor is how many more jobs of topic t a takes now. An agent with no
// slot at all (draining) takes none, instant ones included.
func (a *agent) freeFor(t topic) int {
	if messages.Instant(t.envType) && a.slots > 0 {
		return messages.InstantSlots - a.instant
	}
	return a.free()
}

// open is the topics a takes a job of now; without allocating while it
// takes a job of each.
func (a *agent) open() []topic {
	free := a.free() > 0
	if !a.hasInstant || free && a.instant < messages.InstantSlots {
		if free {
			return a.topics
		}
		return nil
	}
	var out []topic
	for _, t := range a.topics {
		if a.freeFor(t) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// took and left count an instant job in or out of a's running set; call
// each once the job is in the map, and before it leaves.
func (a *agent) took(j *job) {
	if messages.Instant(j.head.EnvironmentType) {
		a.instant++
	}
}

func (a *agent) left(j *job) {
	if messages.Instant(j.head.EnvironmentType) {
		a.instant--
	}
}

// client is one client that said hello (or sent anything).
type client struct {
	id       string
	name     string
	lastSeen time.Time
}

// doneJob remembers a finished job, to refuse its id and to answer a
// client that resubmits it after missing the result.
type doneJob struct {
	clientID string
	// agentID and attempt name the attempt that finished it, so that a
	// resend of that very result is acked again rather than refused.
	agentID string
	attempt int
	// result is the BackendJobDone its client was sent, encoded; nil once
	// dropped to stay within DoneMemory. Bytes, not the decoded message:
	// the collector marks a byte slice at once, where the decoded
	// results' strings and maps, a deadline's worth kept for
	// DoneRetention, were most of what each collection of the backend
	// scanned (docs/PERFORMANCE.md).
	result []byte
	at     time.Time
	// orphan: past DoneRetention, kept only while its result waits for
	// the client's ack.
	orphan bool
}

// doneOverhead is what a kept result costs beyond its bytes: its entry
// in done and doneOrder.
const doneOverhead = 160

// resultSize is the memory a kept result holds, counted in DoneMemory.
func (d *doneJob) resultSize() int64 { return int64(len(d.result) + doneOverhead) }

// dropResult lets a finished job's kept result go, and its bytes out of
// DoneMemory's count: every way a result leaves memory comes here, so
// that the count cannot miss one (an orphan's once did).
func (b *Backend) dropResult(d *doneJob) {
	if d.result != nil {
		b.doneBytes -= d.resultSize()
		d.result = nil
	}
}
