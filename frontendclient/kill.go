package frontendclient

import (
	"context"
	"fmt"
	"slices"

	"github.com/ingo-grader/ingo/messages"
)

// killWaiter is one KillJob waiting for its verdict.
type killWaiter struct {
	// after is the number of pings sent before the ClientKillJob: the
	// answer to any later ping means the backend has handled the kill,
	// unless something was lost since (losses differs from lossMark).
	after  uint64
	losses uint64
	answer chan error // buffered: one verdict
}

// KillJob kills a waiting or running job, of this client or another. It
// returns once the backend has handled the kill (see the package doc):
// nil when it took it (the killed result goes to the job's submitter as
// its one result), a *messages.Error when it refused it (CodeUnknownJob:
// no such job, or finished already), ErrNoAnswer when the backend did not
// answer within RequestTimeout (the kill may still take effect).
func (c *Client) KillJob(ctx context.Context, jobID string) error {
	if err := messages.ValidateID(jobID); err != nil {
		return fmt.Errorf("%w: job id: %w", ErrInvalid, err)
	}
	w := &killWaiter{answer: make(chan error, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("kill job %s: %w", jobID, c.closedErrLocked())
	}
	if err := c.sendKill(jobID, w); err != nil {
		c.mu.Unlock()
		return fmt.Errorf("kill job %s: %w", jobID, err)
	}
	c.killWait[jobID] = append(c.killWait[jobID], w)
	c.mu.Unlock()

	expired, stopTimer := c.timeout()
	defer stopTimer()
	select {
	case err := <-w.answer:
		return killResult(jobID, err)
	case <-c.stop:
		return fmt.Errorf("kill job %s: %w", jobID, c.closedErr())
	case <-ctx.Done():
		if err, ok := c.dropKillWaiter(jobID, w); ok {
			return killResult(jobID, err)
		}
		return fmt.Errorf("kill job %s: %w", jobID, ctx.Err())
	case <-expired:
		if err, ok := c.dropKillWaiter(jobID, w); ok {
			return killResult(jobID, err)
		}
		return fmt.Errorf("kill job %s: %w within %v: the kill may still take effect", jobID, ErrNoAnswer, c.opts.RequestTimeout)
	}
}

// sendKill sends the kill followed by its barrier ping (if that ping is
// lost, a later heartbeat serves as well). Called with mu held.
func (c *Client) sendKill(jobID string, ws ...*killWaiter) error {
	for _, w := range ws {
		w.after, w.losses = c.hb.sent, c.lossMark()
	}
	if err := c.send(&messages.ClientKillJob{JobID: jobID}); err != nil {
		return err
	}
	c.ping()
	return nil
}

func killResult(jobID string, err error) error {
	if err != nil {
		return fmt.Errorf("kill job %s: %w", jobID, err)
	}
	return nil
}

// dropKillWaiter stops waiting, and returns the verdict if it arrived
// meanwhile (ok).
func (c *Client) dropKillWaiter(jobID string, w *killWaiter) (err error, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := slices.DeleteFunc(c.killWait[jobID], func(x *killWaiter) bool { return x == w })
	if len(ws) == 0 {
		delete(c.killWait, jobID)
	} else {
		c.killWait[jobID] = ws
	}
	select {
	case err := <-w.answer:
		return err, true
	default:
		return nil, false
	}
}

// refuseKill hands an Error to the kills of its job, if any wait.
// Called with mu held.
func (c *Client) refuseKill(e *messages.Error) bool {
	ws := c.killWait[e.JobID]
	if len(ws) == 0 {
		return false
	}
	for _, w := range ws {
		w.answer <- e
	}
	delete(c.killWait, e.JobID)
	return true
}

// releaseKills settles the kills sent before ping s: the backend took
// them, or, if messages were lost since (a reconnect, a bounce, a backend
// that forgot us), the kill itself may have been lost: it is sent again,
// which is harmless. Called with mu held.
func (c *Client) releaseKills(s uint64) {
	mark := c.lossMark()
	for id, ws := range c.killWait {
		var again []*killWaiter
		ws = slices.DeleteFunc(ws, func(w *killWaiter) bool {
			switch {
			case w.after >= s:
				return false
			case w.losses != mark:
				again = append(again, w)
				return false
			}
			w.answer <- nil
			return true
		})
		if len(again) > 0 {
			if err := c.sendKill(id, again...); err != nil {
				c.log.Warn("kill not sent again", "job", id, "err", err)
			}
		}
		if len(ws) == 0 {
			delete(c.killWait, id)
		} else {
			c.killWait[id] = ws
		}
	}
}
