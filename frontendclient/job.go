package frontendclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/ingo-grader/ingo/messages"
)

// EventKind names what happened to a job.
type EventKind int

const (
	// EventQueued: the backend accepted the job. It comes again if the
	// job had to be resubmitted to a backend that had lost it.
	EventQueued EventKind = iota + 1
	// EventStarted: an agent took the job (once per attempt).
	EventStarted
	// EventSSH: SSH credentials of a debug job (once per attempt).
	EventSSH
	// EventDone: the result; always the last event.
	EventDone
)

func (k EventKind) String() string {
	switch k {
	case EventQueued:
		return "queued"
	case EventStarted:
		return "started"
	case EventSSH:
		return "ssh"
	case EventDone:
		return "done"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one step of a job. The field matching Kind is set.
type Event struct {
	Kind    EventKind
	Started *messages.BackendJobStarted
	SSH     *messages.BackendJobSSHDebug
	Done    *messages.BackendJobDone
}

// progressBuffer is how many progress events wait for a slow reader before
// further ones are dropped; one more slot is kept for EventDone.
const progressBuffer = 16

// Job is a submitted job. Its methods are safe from any goroutine.
type Job struct {
	id     string
	events chan Event
	done   chan struct{}
	// Written once, before done is closed; read after it is.
	result *messages.BackendJobDone
	err    error

	// Guarded by Client.mu.
	wire []byte // the encoded ClientNewJob, sent again when resubmitting
	seq  uint64 // submission order, kept when resubmitting
	// answered: the backend acknowledged the latest submission.
	answered bool
	// resubmitted: a CodeDuplicateJob answer means "I have it already".
	resubmitted bool
	// sentAfterPing is the number of pings sent before the latest
	// submission; ping n answered with this still unanswered means lost.
	sentAfterPing uint64
	queuedOnce    bool
	ended         bool
	// firstAnswer wakes NewJob: nil on acceptance, the refusal otherwise.
	firstAnswer chan error
}

func newJob(id string, wire []byte) *Job {
	return &Job{
		id:          id,
		wire:        wire,
		events:      make(chan Event, progressBuffer+1),
		done:        make(chan struct{}),
		firstAnswer: make(chan error, 1),
	}
}

// ID is the job id.
func (j *Job) ID() string { return j.id }

// Events delivers queued, started, ssh and done, in the order the backend
// sent them, and is closed after EventDone (or when the job ends without
// a result, see Err). It is buffered and never blocks the client: progress
// events the application does not read in time are dropped.
func (j *Job) Events() <-chan Event { return j.events }

// Done is closed when the job has ended, with a result or not.
func (j *Job) Done() <-chan struct{} { return j.done }

// Result is the job's result, or nil until it arrives (and forever if the
// job ends without one).
func (j *Job) Result() *messages.BackendJobDone {
	select {
	case <-j.done:
		return j.result
	default:
		return nil
	}
}

// Err says why the job ended without a result: ErrClosed when the Client
// was closed first, a *messages.Error when the backend refused a
// resubmission for good. Nil while the job runs and when it has a result.
func (j *Job) Err() error {
	select {
	case <-j.done:
		return j.err
	default:
		return nil
	}
}

// RefusalResult stands for the result a job that ended without one will
// never get: a crash saying that the backend lost it (it restarted
// without its journal) and refused it when it was sent again, which
// frontends hand on as the job's result, so that nobody waits for it
// forever. Nil while the job runs, when it has a result, and when it
// ended because the Client closed.
func (j *Job) RefusalResult() *messages.BackendJobDone {
	var refusal *messages.Error
	if !errors.As(j.Err(), &refusal) {
		return nil
	}
	return &messages.BackendJobDone{JobID: j.id, JobResult: messages.NewJobResult(messages.StatusCrash,
		"The backend lost this job and refused it when it was sent again ("+refusal.Error()+"). Please submit again.", "")}
}

// Wait returns the result once it arrives, the reason the job ended
// without one (see Err), or ctx's error.
func (j *Job) Wait(ctx context.Context) (*messages.BackendJobDone, error) {
	select {
	case <-j.done:
		if j.err != nil {
			return nil, fmt.Errorf("job %s: %w", j.id, j.err)
		}
		return j.result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for job %s: %w", j.id, ctx.Err())
	}
}

// The methods below run with Client.mu held: it makes them the only
// writers of the channels, so a length check before a send is exact.

// emit queues a progress event, or drops it when the reader is behind so
// that the slot for EventDone stays free. It reports whether it was kept.
func (j *Job) emit(ev Event) bool {
	if j.ended || len(j.events) >= progressBuffer {
		return false
	}
	j.events <- ev
	return true
}

// finish ends the job with a result or an error, exactly once.
func (j *Job) finish(res *messages.BackendJobDone, err error) {
	if j.ended {
		return
	}
	j.ended = true
	j.result, j.err = res, err
	j.wire = nil
	if res != nil {
		j.events <- Event{Kind: EventDone, Done: res}
	}
	// Done first: a reader of Events reads Err (or Result) once they close,
	// and both answer from Done without waiting.
	close(j.done)
	close(j.events)
}
