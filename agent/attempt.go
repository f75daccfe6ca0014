package agent

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// errAttemptOver releases an attempt's context once its result exists.
var errAttemptOver = errors.New("attempt over")

// attempt is one running attempt. Its context is cancelled with
// containers.ErrKilled by a kill, with containers.ErrShutdown when the agent
// stops, and with errAttemptOver when it is over; the first cause wins.
type attempt struct {
	key       messages.JobAttempt
	job       *messages.BackendNewJob
	prevState string
	ctx       context.Context
	cancel    context.CancelCauseFunc
	sshSent   atomic.Bool
	begun     time.Time // when the agent took it
	started   atomic.Bool
	// instant: of an instant environment type (messages.Instant): no
	// slot, no memory admission.
	instant bool
}

func newAttempt(parent context.Context, k messages.JobAttempt, job *messages.BackendNewJob, prevState string) *attempt {
	ctx, cancel := context.WithCancelCause(parent)
	return &attempt{key: k, job: job, prevState: prevState, ctx: ctx, cancel: cancel, begun: time.Now()}
}

// runAttempt runs one attempt on a runner (runner.go), counted by a.jobs
// until it ends: when the runtime returns, which a cancelled context makes
// prompt.
func (a *Agent) runAttempt(at *attempt) {
	defer a.jobs.Done()
	defer at.cancel(errAttemptOver)
	res, err := a.execute(at)
	cause := context.Cause(at.ctx)
	var f *containers.Failure
	if errors.As(err, &f) && f.Requeue && cause == nil {
		if f.Err != nil {
			a.log.Warn("attempt not taken", "job", at.key.JobID, "attempt", at.key.Attempt, "err", f.Err)
		}
		a.refuse(at.key, f.Public)
		return
	}
	if err != nil && !errors.Is(cause, containers.ErrKilled) &&
		(errors.Is(cause, containers.ErrShutdown) || errors.Is(err, containers.ErrShutdown)) {
		// Cut short because this agent stops (a restart, an upgrade):
		// the platform's doing, not the student's. Handed back, the job
		// goes to another agent (or to this one restarted) within
		// backend.max-attempts, as when an agent dies; a crash would
		// make a graceful stop worse for students than a kill -9.
		a.refuse(at.key, textShutdown)
		return
	}
	out, logErr := outcome(res, err, cause, at.prevState)
	switch {
	case logErr != nil:
		a.log.Error("attempt failed", "job", at.key.JobID, "attempt", at.key.Attempt, "err", logErr)
	case out.Result.Status == messages.StatusCrash:
		// The platform's fault (a grading container killed from
		// outside, stopped without a result...): the student reads
		// the text, the operator needs this line to find out why.
		a.log.Warn("attempt ended as crash", "job", at.key.JobID, "attempt", at.key.Attempt,
			"course", at.job.CourseID, "task", at.job.TaskID, "text", out.Result.Text)
	}
	a.deliver(at.key, out, at.prevState)
}

// execute prepares the attempt (environment, task files, limits) and runs
// it. Its errors go through outcome; *containers.Failure carries the text
// the student reads.
func (a *Agent) execute(at *attempt) (messages.JobResult, error) {
	ctx := at.ctx
	if ctx.Err() != nil { // killed before it began: it must never start
		return messages.JobResult{}, fmt.Errorf("before start: %w", context.Cause(ctx))
	}
	desc := &at.job.JobDescription
	// What this agent lacks, another may have: those attempts go back.
	if !a.offers(desc.EnvironmentType, desc.Environment) {
		return messages.JobResult{}, &containers.Failure{Requeue: true, Public: fmt.Sprintf(
			"The environment %s/%s is not available on this agent.", desc.EnvironmentType, desc.Environment)}
	}
	var task containers.TaskBundle
	if desc.TaskBundle != "" {
		if a.bundles == nil {
			return messages.JobResult{}, &containers.Failure{Public: textNoBundles, Requeue: true}
		}
		var err error
		if task, err = a.bundles.Get(ctx, at.job.Client, desc.TaskBundle, desc.TaskBundleMeta); err != nil {
			if ctx.Err() != nil {
				return messages.JobResult{}, fmt.Errorf("fetch task bundle: %w", context.Cause(ctx))
			}
			return messages.JobResult{}, &containers.Failure{Public: textNoTaskFiles, Requeue: true,
				Err: fmt.Errorf("fetch task bundle %s of client %q: %w", desc.TaskBundle, at.job.Client, err)}
		}
	}
	job := &containers.Job{
		AgentID:      a.cfg.ID,
		Installation: a.cfg.Installation,
		Session:      a.session,
		Attempt:      at.key.Attempt,
		Desc:         desc,
		Limits:       effectiveLimits(desc.EnvironmentParameters.Limits, a.cfg.DefaultLimits, a.cfg.MaxLimits),
		Task:         task,
	}
	if at.instant {
		// Graded in this process in microseconds: its memory limit is
		// no container's, and a quiz must not wait for the memory the
		// deadline's programs hold.
		return a.rt.Run(ctx, job, events{a: a, at: at})
	}
	release, err := a.admit(ctx, job.Limits)
	if err != nil {
		return messages.JobResult{}, err
	}
	defer release()
	return a.rt.Run(ctx, job, events{a: a, at: at})
}

// events relays what a running attempt tells the agent.
type events struct {
	a  *Agent
	at *attempt
}

// SSHDebug sends the credentials once per attempt, and never after the
// attempt is over.
func (e events) SSHDebug(host string, port int, user, password string) {
	if e.at.ctx.Err() != nil || !e.at.sshSent.CompareAndSwap(false, true) {
		return
	}
	e.a.send(&messages.AgentJobSSHDebug{
		JobID: e.at.key.JobID, Attempt: e.at.key.Attempt,
		Host: host, Port: port, User: user, Password: password,
	})
}

// Started reports, once, how long the container took to start (see
// containers.StartEvents).
func (e events) Started() {
	o := e.a.cfg.Observer
	if o == nil || !e.at.started.CompareAndSwap(false, true) {
		return
	}
	d := &e.at.job.JobDescription
	o.ContainerStarted(d.EnvironmentType, d.Environment, time.Since(e.at.begun))
}
