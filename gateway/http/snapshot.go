package api

import (
	"context"
	"sync"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// queueReuse is how long a queue snapshot serves every token again. The
// API asks the backend as one admin for all its tokens, and the backend
// gives each admin a share of its event loop for snapshots (0.1 s each
// with 5,000 waiting jobs): one frontend token polling GET /api/v1/queue
// a few times a second used the API's share, and every other token's
// queue, job and agent views, admins' included, were then refused 503
// throttled. Reused, any number of tokens' polls cost the backend at most
// a few snapshots a second. The API's own submissions and kills make it
// stale at once, so a token sees what it just did.
const queueReuse = 250 * time.Millisecond

// snapshots is the last queue snapshot and the request for the next, if
// one is on its way: concurrent callers wait for it rather than each
// asking the backend.
type snapshots struct {
	mu       sync.Mutex
	q        *messages.BackendGetQueue
	at       time.Time
	gen      uint64        // bumped by stale: a snapshot asked for before is not kept
	inflight chan struct{} // closed when the request on its way is answered
}

// queue is a snapshot of the backend's queue at most queueReuse old, or
// newer than the API's last submission or kill. Read-only: callers share
// it.
func (s *Server) queue(ctx context.Context) (*messages.BackendGetQueue, error) {
	c := &s.snaps
	for {
		c.mu.Lock()
		if c.q != nil && time.Since(c.at) < queueReuse {
			q := c.q
			c.mu.Unlock()
			return q, nil
		}
		if ch := c.inflight; ch != nil {
			c.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		c.inflight, c.q = ch, nil
		gen := c.gen
		c.mu.Unlock()

		q, err := s.client.Queue(ctx)
		c.mu.Lock()
		c.inflight = nil
		close(ch)
		if err == nil && gen == c.gen {
			c.q, c.at = q, time.Now()
		}
		c.mu.Unlock()
		return q, err
	}
}

// stale forgets the snapshot: the API just changed the queue.
func (c *snapshots) stale() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.q = nil
	c.gen++
}
