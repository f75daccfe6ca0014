package frontendclient

import (
	"context"
	"fmt"
	"slices"

	"github.com/ingo-grader/ingo/messages"
)

// queueWaiter is one Queue call waiting for a snapshot.
type queueWaiter struct {
	after  uint64 // pings sent before its request (see requeryQueue)
	answer chan *messages.BackendGetQueue
}

// Queue asks the backend for a snapshot of its queue: running and waiting
// jobs in dispatch order, and the agents. Calls do not wait for each other:
// each sends its request and takes the first snapshot that arrives after
// it, which concurrent calls then share. Treat it as read-only.
func (c *Client) Queue(ctx context.Context) (*messages.BackendGetQueue, error) {
	w := &queueWaiter{answer: make(chan *messages.BackendGetQueue, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, fmt.Errorf("queue: %w", c.closedErrLocked())
	}
	w.after = c.hb.sent
	if err := c.send(&messages.ClientGetQueue{}); err != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("queue: %w", err)
	}
	c.queueWait = append(c.queueWait, w)
	c.mu.Unlock()

	expired, stopTimer := c.timeout()
	defer stopTimer()
	select {
	case q := <-w.answer:
		return q, nil
	case <-c.stop:
		return nil, fmt.Errorf("queue: %w", c.closedErr())
	case <-ctx.Done():
		if q := c.dropQueueWaiter(w); q != nil {
			return q, nil
		}
		return nil, fmt.Errorf("queue: %w", ctx.Err())
	case <-expired:
		if q := c.dropQueueWaiter(w); q != nil {
			return q, nil
		}
		return nil, fmt.Errorf("queue: %w within %v", ErrNoAnswer, c.opts.RequestTimeout)
	}
}

// dropQueueWaiter stops waiting, and returns the snapshot if it arrived
// meanwhile.
func (c *Client) dropQueueWaiter(w *queueWaiter) *messages.BackendGetQueue {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queueWait = slices.DeleteFunc(c.queueWait, func(x *queueWaiter) bool { return x == w })
	select {
	case q := <-w.answer:
		return q
	default:
		return nil
	}
}

// requeryQueue asks again for a snapshot when ping s, sent after a
// request still unanswered, got its answer: the request or the snapshot
// was lost. One request serves every waiter. Called with mu held.
func (c *Client) requeryQueue(s uint64) {
	lost := false
	for _, w := range c.queueWait {
		if w.after < s {
			lost = true
			w.after = c.hb.sent
		}
	}
	if !lost {
		return
	}
	if err := c.send(&messages.ClientGetQueue{}); err != nil {
		c.log.Warn("queue request not sent again", "err", err)
	}
}
