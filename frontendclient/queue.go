package frontendclient

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/ingo-grader/ingo/messages"
)

// queueWaiter is one Queue or QueryQueue call waiting for a snapshot.
type queueWaiter struct {
	after  uint64 // pings sent before its request (see requeryQueue)
	answer chan queueReply
	// req is a QueryQueue's request, whose Ref its answer echoes; nil for
	// Queue, which takes any snapshot without one.
	req *messages.ClientGetQueue
}

// queueReply is a snapshot, or the backend's refusal of the request.
type queueReply struct {
	q   *messages.BackendGetQueue
	err error
}

// Queue asks the backend for a snapshot of its queue: running and waiting
// jobs in dispatch order, and the agents. Calls do not wait for each other:
// each sends its request and takes the first snapshot that arrives after
// it, which concurrent calls then share. Treat it as read-only.
func (c *Client) Queue(ctx context.Context) (*messages.BackendGetQueue, error) {
	return c.waitQueue(ctx, &queueWaiter{answer: make(chan queueReply, 1)})
}

// QueryQueue asks for the head of each queue (req.PerQueue) or for one
// page of every job (req.Limit, req.After, filters; see
// messages.ClientGetQueue): pass the answer's Next as the next request's
// After until it is nil. Its answer is its own, told apart by a Ref the
// client sets. A request out of bounds fails with ErrInvalid unsent.
func (c *Client) QueryQueue(ctx context.Context, req messages.ClientGetQueue) (*messages.BackendGetQueue, error) {
	req.Ref = uuid.NewString()
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("queue: %w: %w", ErrInvalid, err)
	}
	return c.waitQueue(ctx, &queueWaiter{answer: make(chan queueReply, 1), req: &req})
}

func (c *Client) waitQueue(ctx context.Context, w *queueWaiter) (*messages.BackendGetQueue, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, fmt.Errorf("queue: %w", c.closedErrLocked())
	}
	w.after = c.hb.sent
	if err := c.send(w.request()); err != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("queue: %w", err)
	}
	c.queueWait = append(c.queueWait, w)
	c.mu.Unlock()

	expired, stopTimer := c.timeout()
	defer stopTimer()
	select {
	case r := <-w.answer:
		return r.result()
	case <-c.stop:
		return nil, fmt.Errorf("queue: %w", c.closedErr())
	case <-ctx.Done():
		if r, ok := c.dropQueueWaiter(w); ok {
			return r.result()
		}
		return nil, fmt.Errorf("queue: %w", ctx.Err())
	case <-expired:
		if r, ok := c.dropQueueWaiter(w); ok {
			return r.result()
		}
		return nil, fmt.Errorf("queue: %w within %v", ErrNoAnswer, c.opts.RequestTimeout)
	}
}

func (r queueReply) result() (*messages.BackendGetQueue, error) {
	if r.err != nil {
		return nil, fmt.Errorf("queue: %w", r.err)
	}
	return r.q, nil
}

// dropQueueWaiter stops waiting, and returns the reply if it arrived
// meanwhile.
func (c *Client) dropQueueWaiter(w *queueWaiter) (queueReply, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queueWait = slices.DeleteFunc(c.queueWait, func(x *queueWaiter) bool { return x == w })
	select {
	case r := <-w.answer:
		return r, true
	default:
		return queueReply{}, false
	}
}

// request is what w asks for.
func (w *queueWaiter) request() *messages.ClientGetQueue {
	if w.req != nil {
		return w.req
	}
	return &messages.ClientGetQueue{}
}

// answerQueue hands a snapshot to the calls waiting for it: one without a
// Ref to every Queue call, one with a Ref to its QueryQueue call. Called
// with mu held.
func (c *Client) answerQueue(q *messages.BackendGetQueue) {
	c.queueWait = slices.DeleteFunc(c.queueWait, func(w *queueWaiter) bool {
		if (w.req == nil) != (q.Ref == "") || (w.req != nil && w.req.Ref != q.Ref) {
			return false
		}
		w.answer <- queueReply{q: q} // each waiter has room for exactly this one
		return true
	})
}

// refuseQueue fails the calls whose request the backend refused: the
// QueryQueue call of e's Ref, or, without one, every Queue call (they
// share their requests' answers). Called with mu held.
func (c *Client) refuseQueue(e *messages.Error) {
	c.queueWait = slices.DeleteFunc(c.queueWait, func(w *queueWaiter) bool {
		if (w.req == nil) != (e.Ref == "") || (w.req != nil && w.req.Ref != e.Ref) {
			return false
		}
		w.answer <- queueReply{err: e}
		return true
	})
}

// requeryQueue asks again for a snapshot when ping s, sent after a
// request still unanswered, got its answer: the request or the snapshot
// was lost. One request serves every waiter. Called with mu held.
func (c *Client) requeryQueue(s uint64) {
	lost := false
	for _, w := range c.queueWait {
		if w.after >= s {
			continue
		}
		w.after = c.hb.sent
		if w.req == nil {
			lost = true
		} else if err := c.send(w.req); err != nil {
			c.log.Warn("queue request not sent again", "err", err)
		}
	}
	if !lost {
		return
	}
	if err := c.send(&messages.ClientGetQueue{}); err != nil {
		c.log.Warn("queue request not sent again", "err", err)
	}
}
