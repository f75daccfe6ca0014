package containers

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ingo-grader/ingo/messages"
)

// Runtime runs grading jobs, one attempt at a time each, for one agent.
//
// # Call order
//
// The agent calls Environments once at start and again each time Changes
// fires; Cleanup once the backend accepted it and periodically; Run once
// per attempt it accepts; Close once when it stops, after every Run
// returned.
//
// # Concurrency
//
// Run is called concurrently, at most as many times at once as the agent has
// slots. Environments and Cleanup may be called while attempts run. Every
// method must be safe for concurrent use.
//
// # Run
//
// Run blocks until the attempt is over and every resource it made (a
// container, files, a network) is gone, or handed to Cleanup. It enforces
// job.Limits itself, because only the runtime can measure CPU time or memory
// exactly, and reports a limit reached as a result (StatusTimeout,
// StatusOverflow), not as an error.
//
//   - It returns a result and a nil error whenever the job ran to an outcome:
//     success, failed, error (the grader gave no usable feedback), timeout,
//     overflow, or crash when the environment itself failed in a way the
//     runtime can put in words fit for a student to read.
//   - It returns an error when it could not run the job at all. The agent
//     reports that as StatusCrash with a generic text, and logs the error;
//     wrap the cause in a *Failure to give the student a better text.
//   - When ctx is cancelled, Run stops the job at once (SIGKILL, not a grace
//     period: a grader has nothing to save), cleans up, and returns an error
//     that wraps context.Cause(ctx). The agent maps the cause: ErrKilled ->
//     killed; ErrShutdown -> the job handed back to the backend, which
//     queues it again (within backend.max-attempts, as for a lost agent).
//     Cancellation may come at any
//     point, including while the container is still being created; a job
//     must never start running after Run has seen the cancellation.
//
// # Idempotency
//
// Cleanup removes only what this agent made and no live process of it
// needs (see CleanupRequest), and succeeds when there is nothing to remove.
// Close may be called more than once.
type Runtime interface {
	// Name is the runtime's kind: "docker", "fake", "noop".
	Name() string

	// Environments lists what this runtime can run now, by environment type
	// ("docker", "docker-ssh") and name ("default").
	Environments(ctx context.Context) (map[string]map[string]messages.EnvironmentInfo, error)

	// Changes fires (without blocking the runtime: it is a buffered or
	// coalescing channel) when the environments may have changed. A nil
	// channel means they never change.
	Changes() <-chan struct{}

	// Run runs one attempt of a job. ev may be nil.
	Run(ctx context.Context, job *Job, ev Events) (messages.JobResult, error)

	// Cleanup removes the leftovers req allows (CleanupRequest.Removes),
	// among the resources labelled with this runtime's agent id, and
	// returns the attempts it removed.
	Cleanup(ctx context.Context, req CleanupRequest) ([]messages.JobAttempt, error)

	// Close releases the runtime's own resources (connections, watchers).
	Close() error
}

// Job is one attempt as the runtime sees it. The agent has already applied
// its defaults and caps to Limits.
type Job struct {
	AgentID string
	Attempt int
	Desc    *messages.JobDescription
	// Limits are the effective limits of this attempt: every field set.
	Limits messages.Limits
	// Task is the task folder, or nil for a taskless job.
	Task TaskBundle

	// Installation and Session say whose the attempt is beyond AgentID:
	// the installation the agent serves and the agent process
	// (AgentHello.Session). Runtimes label what they make with both, so
	// that Cleanup tells a dead process's leftovers from a live one's, and
	// one installation's agents from another's on a shared host.
	Installation string
	Session      string
}

// ID is the job's id.
func (j *Job) ID() string { return j.Desc.JobID }

// Ref names the attempt.
func (j *Job) Ref() messages.JobAttempt {
	return messages.JobAttempt{JobID: j.Desc.JobID, Attempt: j.Attempt}
}

// CleanupRequest says which leftovers Cleanup may remove. Two agents may
// share an id and a host: two installations each with an agent named after
// the host, or a restarted agent and its dead previous process. Only the
// second may clean up after the first.
type CleanupRequest struct {
	// Installation is the agent's (Job.Installation): resources of
	// another installation are never touched.
	Installation string
	// Session is the agent process's own (Job.Session): its resources go
	// when Keep rejects their attempt.
	Session string
	// Keep reports the attempts this process runs now; nil keeps none.
	Keep func(messages.JobAttempt) bool
	// Others lets the resources of other sessions go: those of dead
	// processes of this agent. The agent sets it only while the backend
	// holds its session as the registered one, which it refuses to be
	// while another process of the id is live.
	Others bool
}

// Removes says whether a resource of the runtime's agent id, labelled with
// installation and session, made for attempt k, is to go. Resources
// without a session (made by an older ingo) never go: nobody can tell
// whether a live agent still uses them.
func (c *CleanupRequest) Removes(installation, session string, k messages.JobAttempt) bool {
	switch {
	case installation != c.Installation || session == "":
		return false
	case session == c.Session:
		return c.Keep == nil || !c.Keep(k)
	}
	return c.Others
}

// TaskBundle is a task folder packed as a gzipped tar archive, verified
// against its content hash before the runtime sees it.
//
// It is an alias of an interface literal, which internal/bundle spells out
// as well (bundle.TaskBundle): the two are then one type, so that
// bundle.Cache serves agent.Bundles without internal/bundle (and through it
// frontendclient) importing containers.
type TaskBundle = interface {
	// Digest is "sha256:<hex>" of the archive.
	Digest() string
	// Open returns the archive (.tar.gz) from its start; the caller closes it.
	Open() (io.ReadCloser, error)
}

// Events are what a running attempt tells the agent before its result.
type Events interface {
	// SSHDebug passes on the credentials of the attempt's SSH server, once.
	SSHDebug(host string, port int, user, password string)
}

// StartEvents is implemented by Events that want to hear when the job
// itself began: its container is running (everything before, such as
// fetching the image and creating the container, is over). Runtimes tell
// it with ReportStarted, once per Run, and not when Run fails before.
type StartEvents interface {
	Events
	// Started: the attempt's container is running.
	Started()
}

// ReportStarted calls ev.Started when ev implements StartEvents; ev may be
// nil.
func ReportStarted(ev Events) {
	if s, ok := ev.(StartEvents); ok {
		s.Started()
	}
}

// Cancel causes: the agent cancels an attempt's context with one of these,
// and Run's error wraps it.
var (
	// ErrKilled: a client or an admin killed the job.
	ErrKilled = errors.New("job killed")
	// ErrShutdown: the agent is stopping and will not wait for the job.
	ErrShutdown = errors.New("agent shutting down")
)

// TextTooManyValues is the text of the error result that replaces a
// result whose tests and custom values hold more than
// messages.MaxFreeFormItems values, which the backend would refuse: a
// runtime's that counts them before it decodes them (docker), and the
// agent's for any other.
var TextTooManyValues = fmt.Sprintf("The feedback holds too many values in its tests and custom values to be sent back (the limit is %d).", messages.MaxFreeFormItems)

// Failure is an error of the runtime with a text fit for the job's result:
// it helps the operator and leaks nothing of the host.
type Failure struct {
	// Public is the result text ("The environment 'x' has no image").
	Public string
	// Err is the cause, for logs only.
	Err error
	// Requeue: nothing of the job ran, and the cause is this agent or this
	// moment, not the job (the environment went away, the task files could
	// not be fetched). The agent hands the attempt back and the backend
	// gives the job to an agent again, within its attempts; Public is the
	// result text only if none is left.
	Requeue bool
}

func (f *Failure) Error() string {
	if f.Err == nil {
		return f.Public
	}
	return f.Public + ": " + f.Err.Error()
}

func (f *Failure) Unwrap() error { return f.Err }
