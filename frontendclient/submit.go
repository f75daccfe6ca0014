package frontendclient

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/ingo-grader/ingo/messages"
)

// JobRequest is what a frontend submits.
type JobRequest struct {
	// ClientNewJob is sent as is, except that an empty JobID is replaced by
	// a new UUID and TaskBundle is filled from TaskDir.
	messages.ClientNewJob
	// TaskDir, if set, is a task folder: it is packed and uploaded as a
	// bundle (unless this Client uploaded it less than a day ago: see
	// internal/bundle.RefreshAfter) and the job names it.
	TaskDir string
	// CommonDir, with TaskDir, is the course's common folder (INGInious'
	// $common): packed into the same bundle, the grader sees it read-only
	// at /course/common.
	CommonDir string
}

// NewJob submits a job and waits until the backend has queued it (at most
// RequestTimeout). It returns:
//   - the Job, whose Events and Wait follow it to its result;
//   - a *messages.Error when the backend refuses it (CodeDuplicateJob,
//     CodeBadRequest, CodeUnavailable, ...), also for a job id this client
//     already follows;
//   - ErrNoAnswer when the backend did not answer: the job may have been
//     queued all the same, and calling NewJob again with the same JobID is
//     safe (a duplicate-id answer then means the first one got through);
//   - ErrTooLarge, ErrInvalid, ErrClosed, or ctx's error.
func (c *Client) NewJob(ctx context.Context, req JobRequest) (*Job, error) {
	m := req.ClientNewJob
	if m.JobID == "" {
		m.JobID = uuid.NewString()
	} else if err := messages.ValidateID(m.JobID); err != nil {
		return nil, fmt.Errorf("%w: job id: %w", ErrInvalid, err)
	}
	if req.TaskDir != "" {
		if m.TaskBundle != "" {
			return nil, fmt.Errorf("%w: job %s: set TaskDir or TaskBundle, not both", ErrInvalid, m.JobID)
		}
		digest, err := c.uploadCourseTask(ctx, req.TaskDir, req.CommonDir)
		if err != nil {
			return nil, fmt.Errorf("new job %s: %w", m.JobID, err)
		}
		m.TaskBundle = digest
	}
	if m.TaskBundle != "" && m.TaskBundleMeta == 0 {
		m.TaskBundleMeta = c.uploadedMeta(m.TaskBundle)
	}
	// Encoded once: a resubmission sends the same bytes.
	wire, err := messages.Encode(&m)
	if err != nil {
		return nil, fmt.Errorf("%w: job %s: %w", ErrInvalid, m.JobID, err)
	}
	if limit := c.maxPayload(); int64(len(wire)) > limit {
		return nil, fmt.Errorf("%w: job %s encodes to %d bytes, over the %d bytes one NATS message may carry (max_payload): "+
			"put large files in the task folder (TaskDir) rather than in the input, or raise max_payload on the NATS server",
			ErrTooLarge, m.JobID, len(wire), limit)
	}

	j := newJob(m.JobID, wire)
	if err := c.submit(j); err != nil {
		return nil, fmt.Errorf("new job %s: %w", j.id, err)
	}
	expired, stopTimer := c.timeout()
	defer stopTimer()
	select {
	case err := <-j.firstAnswer:
		return firstAnswer(j, err)
	case <-c.stop:
		return nil, fmt.Errorf("new job %s: %w", j.id, c.closedErr())
	case <-ctx.Done():
		return c.abandon(j, ctx.Err())
	case <-expired:
		return c.abandon(j, fmt.Errorf("%w within %v: is `ingo backend` running? The job may still have been queued: "+
			"submitting it again with the same job id is safe", ErrNoAnswer, c.opts.RequestTimeout))
	}
}

// firstAnswer turns the backend's first answer into NewJob's result.
func firstAnswer(j *Job, err error) (*Job, error) {
	if err != nil {
		return nil, fmt.Errorf("new job %s: %w", j.id, err)
	}
	return j, nil
}

// submit registers j and sends it for the first time.
func (c *Client) submit(j *Job) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.closedErrLocked()
	}
	if c.jobs[j.id] != nil {
		return messages.Errorf(messages.CodeDuplicateJob, j.id, "this client already follows a job with this id")
	}
	if c.forgotten.has(j.id) {
		// We sent it before and gave up waiting: if the backend says it
		// has it, it has ours.
		c.forgotten.remove(j.id)
		j.resubmitted = true
	}
	c.submitSeq++
	j.seq = c.submitSeq
	j.sentAfterPing = c.hb.sent
	if err := c.sendWire(j.wire); err != nil {
		return err
	}
	c.jobs[j.id] = j
	c.unanswered[j.id] = j
	return nil
}

// abandon gives up waiting for the first answer, unless it arrived
// meanwhile. The id is remembered so that a retry may adopt the job.
func (c *Client) abandon(j *Job, cause error) (*Job, error) {
	c.mu.Lock()
	select {
	case err := <-j.firstAnswer:
		c.mu.Unlock()
		return firstAnswer(j, err)
	default:
	}
	if c.jobs[j.id] == j {
		delete(c.jobs, j.id)
		delete(c.unanswered, j.id)
		c.forgotten.add(j.id)
	}
	c.mu.Unlock()
	return nil, fmt.Errorf("new job %s: %w", j.id, cause)
}

// maxPayload is the largest message we may publish.
func (c *Client) maxPayload() int64 {
	limit := int64(messages.MaxMessageSize)
	if mp := c.nc.MaxPayload(); mp > 0 && mp < limit {
		limit = mp
	}
	return limit
}

// resend submits j again. Called with mu held.
func (c *Client) resend(j *Job) {
	j.resubmitted = true
	j.sentAfterPing = c.hb.sent
	c.stats.resubmissions.Add(1)
	if err := c.sendWire(j.wire); err != nil {
		// Still unanswered: the next answered ping sends it again.
		c.log.Warn("resubmission not sent", "job", j.id, "err", err)
	}
}

// accept records that the backend has j: it answered its submission, or
// spoke about the job once it may have it (Client.followed: not before
// the answer to a first submission). queued is true for BackendJobQueued,
// which is an event of its own. Called with mu held.
func (c *Client) accept(j *Job, queued bool) {
	if !j.answered {
		j.answered = true
		delete(c.unanswered, j.id)
		select {
		case j.firstAnswer <- nil:
		default:
		}
	}
	if queued || !j.queuedOnce {
		j.queuedOnce = true
		c.emit(j, Event{Kind: EventQueued})
	}
}

// refused handles an Error about a submission of j. Called with mu held.
func (c *Client) refused(j *Job, e *messages.Error) {
	if j.resubmitted {
		switch e.Code {
		case messages.CodeDuplicateJob:
			// Our earlier submission got through: the backend has it.
			c.accept(j, false)
			return
		case messages.CodeUnavailable:
			// Not now: the next answered ping sends it again.
			c.log.Warn("backend cannot take a resubmission now", "job", j.id, "err", e)
			return
		}
		c.log.Error("backend refused a resubmitted job: it ends without a result", "job", j.id, "err", e)
	}
	delete(c.jobs, j.id)
	delete(c.unanswered, j.id)
	select {
	case j.firstAnswer <- e:
	default:
	}
	j.finish(nil, e)
}

// deliverDone hands j its one result. Called with mu held; onDone then
// acknowledges it (see results.go).
func (c *Client) deliverDone(j *Job, res *messages.BackendJobDone) {
	c.accept(j, false)
	delete(c.jobs, j.id)
	delete(c.unanswered, j.id)
	c.finished.add(j.id)
	j.finish(res, nil)
}

// emit queues a progress event for j, counting what a slow reader loses.
// Called with mu held.
func (c *Client) emit(j *Job, ev Event) {
	if !j.emit(ev) {
		c.stats.droppedEvents.Add(1)
	}
}
