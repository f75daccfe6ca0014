package backend

import (
	"errors"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// Transition is one change in a job's life. The set is closed: these are
// the only ways a job changes, and each one is recorded in the Journal
// before it takes effect.
type Transition interface{ jobID() string }

// JobQueued: a client's job was accepted. Job is its whole description;
// a journal replaying it may leave Job nil and give only Head, when it
// can read Job back later (JobLoader): a deadline's queue then costs the
// backend its heads, not its students' files.
type JobQueued struct {
	Job *messages.ClientNewJob
	// Wire is Job as it came from its client, one whole ClientNewJob
	// message that decodes to Job, or nil. A journal stores it as it is
	// instead of encoding Job again (the decoder that accepted it is the
	// one a replay uses). It is a slice of the NATS message it came in: a
	// journal copies it and keeps nothing of it, and nothing else does.
	Wire     []byte
	Head     JobHead // HeadOf(Job); what the backend reads when Job is nil
	ClientID string
	// Frontend is Job.Frontend, what the backend reads when Job is nil:
	// the frontend, within the admin client ClientID, whose course it is.
	Frontend string
	Seq      uint64
	At       time.Time
}

// JobAssigned: an attempt was sent to an agent.
type JobAssigned struct {
	JobID       string
	AgentID     string
	Attempt     int
	AgentSeq    uint64
	DispatchSeq uint64
	At          time.Time
}

// JobStarted: the agent confirmed the attempt.
type JobStarted struct {
	JobID   string
	Attempt int
}

// JobRequeued: an attempt was lost (agent lost, never confirmed); the job
// waits again at its original place in the queue.
type JobRequeued struct {
	JobID   string
	Attempt int
	Reason  string
}

// JobKillRequested: someone asked to kill a running job; the agent was told.
type JobKillRequested struct{ JobID string }

// JobFinished: the job has its final result.
type JobFinished struct {
	Result *messages.BackendJobDone
	// Wire is Result encoded (messages.Encode), or nil. The backend
	// encodes a result once: a journal stores these bytes as they are,
	// and the client is sent the same (a result may hold an archive of
	// megabytes). Nobody changes them.
	Wire []byte
	At   time.Time
}

func (t *JobQueued) jobID() string {
	if t.Job != nil {
		return t.Job.JobID
	}
	return t.Head.JobID
}
func (t *JobAssigned) jobID() string      { return t.JobID }
func (t *JobStarted) jobID() string       { return t.JobID }
func (t *JobRequeued) jobID() string      { return t.JobID }
func (t *JobKillRequested) jobID() string { return t.JobID }
func (t *JobFinished) jobID() string      { return t.Result.JobID }

// Journal records transitions before they take effect. Record is called
// from the event loop only; an error refuses the transition (the message
// that caused it gets an Error, and its sender tries again).
type Journal interface {
	Record(Transition) error
}

// AsyncJournal is a Journal that stores in the background, so that many
// transitions are in flight at once (group commit) instead of the event
// loop waiting for each. The backend applies a transition as soon as it is
// appended, and holds every message it sends until the transitions
// appended before it are stored (see outbox.go): nobody hears of a
// transition before it is durable, as with Record.
type AsyncJournal interface {
	Journal
	// Append hands t over and returns its position: 1 for the first
	// transition appended, then 2, 3... It fails when t cannot be taken
	// (encoding, too many in flight, the journal failed); t is then
	// refused as by Record.
	Append(t Transition) (uint64, error)
	// Stored is the position up to which every transition is stored.
	Stored() uint64
	// Progress receives a signal (coalesced) when Stored grew or Err
	// became non-nil.
	Progress() <-chan struct{}
	// Err is set once a transition could not be stored: what was
	// appended after it may or may not be, so the backend's state no
	// longer matches the journal's, and the backend must stop
	// (ErrJournalFailed) and be rebuilt from the journal.
	Err() error
}

// Filling is implemented by a Journal whose store is bounded: Full says
// it holds so much that new jobs are refused (CodeUnavailable), so that the
// transitions of the jobs it has still fit and none is lost.
type Filling interface {
	Full() bool
}

// Replayer is implemented by a durable Journal: Replay calls apply with
// every stored transition, in the order they were recorded (after a
// Preload, with those recorded since: see Preloader). Run replays before
// it subscribes, so the backend serves with the state it had.
type Replayer interface {
	Replay(apply func(Transition)) error
}

// ResultStore is implemented by a durable Journal that keeps finished
// jobs' records until their client acknowledged the result: a result
// survives a backend restart until it is delivered. Without one, results
// live in memory only (within DoneMemory).
type ResultStore interface {
	// Forget drops a finished job's records: its client acknowledged the
	// result, or ResultRetention passed. It may work in the background; a
	// record that outlives it only makes a later replay send the result
	// again, which clients drop as a duplicate.
	Forget(jobID string) error
	// LoadResult reads back the result of a finished job that was dropped
	// from memory.
	LoadResult(jobID string) (*messages.BackendJobDone, error)
}

// JobLoader is implemented by a durable Journal that can read a queued
// job's description back: the backend then keeps only the heads of the
// jobs beyond Config.QueueMemoryJobs (and of every job it replayed), and
// reads a description when it dispatches the job.
type JobLoader interface {
	// LoadJob wraps ErrNoDescription when the description is gone for
	// good (the job then ends as crash); any other error is taken as
	// passing, and the job waits.
	LoadJob(jobID string) (*messages.ClientNewJob, error)
}

// ErrNoDescription says that a JobLoader does not have the job's
// description, and never will.
var ErrNoDescription = errors.New("backend: the job's description is not in the journal")

// TransitionJobID returns the id of the job t is about.
func TransitionJobID(t Transition) string { return t.jobID() }

// memoryJournal keeps nothing: state lives only in the event loop.
type memoryJournal struct{}

func (memoryJournal) Record(Transition) error { return nil }
