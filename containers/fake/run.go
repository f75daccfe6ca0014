package fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// Run plays one attempt as its "@fake" input says; see the package doc.
func (r *Runtime) Run(ctx context.Context, job *containers.Job, ev containers.Events) (messages.JobResult, error) {
	k := job.Ref()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.enter(k, cancel)
	defer r.leave(k)

	b, err := parseBehaviour(job.Desc.InputData)
	if err != nil {
		return messages.JobResult{}, &containers.Failure{Public: "fake: " + err.Error(), Err: err}
	}
	typ, name := job.Desc.EnvironmentType, job.Desc.Environment
	if !r.offers(typ, name) {
		return messages.JobResult{}, &containers.Failure{Public: fmt.Sprintf("fake: environment %s/%s is not offered", typ, name)}
	}
	if b.blockStart {
		if err := r.waitGate(ctx, k.JobID); err != nil {
			return messages.JobResult{}, err
		}
	}
	switch {
	case b.crash != "":
		return messages.JobResult{}, errors.New("fake: " + b.crash)
	case b.failure != "":
		return messages.JobResult{}, &containers.Failure{Public: b.failure}
	}
	// The contract: a job never starts once Run has seen the cancellation.
	if ctx.Err() != nil {
		return messages.JobResult{}, cancelled(ctx)
	}
	r.mu.Lock()
	r.stats.Started++
	r.mu.Unlock()
	r.logStart(job)
	res, err := r.play(ctx, job, ev, b)
	r.logEnd(job, endStatus(res, err))
	return res, err
}

// play is the part of Run after the job started.
func (r *Runtime) play(ctx context.Context, job *containers.Job, ev containers.Events, b behaviour) (messages.JobResult, error) {
	containers.ReportStarted(ev)
	if b.ssh && ev != nil {
		ev.SSHDebug("127.0.0.1", 2222, "worker", "fake-password")
	}
	if b.hang {
		<-ctx.Done()
		return messages.JobResult{}, cancelled(ctx)
	}
	if b.sleep > 0 {
		d := b.sleep
		hard := time.Duration(job.Limits.HardTime * float64(time.Second))
		if hard > 0 && d > hard {
			d, b.timeout = hard, true
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return messages.JobResult{}, cancelled(ctx)
		case <-t.C:
		}
	}
	return r.result(job, b), nil
}

func (r *Runtime) enter(k messages.JobAttempt, cancel context.CancelCauseFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Calls++
	r.stats.Active++
	r.stats.MaxActive = max(r.stats.MaxActive, r.stats.Active)
	r.running[k] = cancel
}

func (r *Runtime) leave(k messages.JobAttempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Active--
	delete(r.running, k)
}

// cancelled is Run's error once ctx is done: it wraps the cause, or says
// the attempt was removed by Cleanup.
func cancelled(ctx context.Context) error {
	cause := context.Cause(ctx)
	if errors.Is(cause, errRemoved) {
		return &containers.Failure{Public: "fake: the container was removed by cleanup", Err: cause}
	}
	return fmt.Errorf("fake: attempt stopped: %w", cause)
}

func (r *Runtime) result(job *containers.Job, b behaviour) messages.JobResult {
	status := b.status
	switch {
	case b.oom:
		status = messages.StatusOverflow
	case b.timeout:
		status = messages.StatusTimeout
	}
	text := b.text
	if text == "" {
		text = "fake: " + string(status)
	}
	res := messages.NewJobResult(status, text, b.state)
	if b.grade != nil {
		res.Grade = *b.grade
	}
	res.Problems = b.problems
	// As the docker runtime: the grader's output only when the client
	// asked for debug, so that tests see what a debug flag changes.
	if job.Desc.Debug != messages.DebugOff {
		res.Stdout, res.Stderr = b.stdout, b.stderr
	}
	res.Custom = make(map[string]any, len(b.custom)+1)
	for key, v := range b.custom {
		res.Custom[key] = v
	}
	res.Custom["echo"] = echo(job)
	return res
}

// echo is what the runtime received, for tests to check.
func echo(job *containers.Job) map[string]any {
	l := job.Limits
	input := make(map[string]any, len(job.Desc.InputData))
	for key, v := range job.Desc.InputData {
		if key != "@fake" {
			input[key] = v
		}
	}
	digest, size := "", int64(-1)
	if job.Task != nil {
		digest = job.Task.Digest()
		size = bundleSize(job.Task)
	}
	return map[string]any{
		"agent_id":    job.AgentID,
		"job_id":      job.ID(),
		"attempt":     int64(job.Attempt),
		"environment": job.Desc.EnvironmentType + "/" + job.Desc.Environment,
		"limits": map[string]any{
			"time": l.Time, "hard_time": l.HardTime, "memory": l.Memory,
			"processes": l.Processes, "output": l.Output, "disk": l.Disk,
		},
		"task_bundle":       digest,
		"task_bundle_bytes": size,
		"input":             input,
	}
}

func bundleSize(t containers.TaskBundle) int64 {
	rc, err := t.Open()
	if err != nil {
		return -1
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil {
		return -1
	}
	return n
}
