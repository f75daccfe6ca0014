package frontendclient

import (
	"log/slog"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// The backend sends a result until the client acknowledges it (and keeps
// it across its own restarts meanwhile), so every result arrives at least
// once and maybe more. The client turns that into exactly once for the
// application: it drops duplicates by job id, and acknowledges a result
// only once the application has it:
//
//   - without Options.OnResult, when the result is handed to its Job;
//   - with OnResult, when OnResult returned nil (the application stored
//     it). Results of jobs an earlier process with the same ClientID
//     submitted arrive there too.
//
// A duplicate of an acknowledged result is acknowledged again (the first
// ack was lost); one still in OnResult is dropped; one whose OnResult
// failed goes to OnResult again.

// resultState is the client's part of result delivery, guarded by mu.
type resultState struct {
	acked   *idSet                     // acknowledged: duplicates get the ack again
	handing map[string]bool            // queued for or inside OnResult
	queue   []*messages.BackendJobDone // waiting for the OnResult goroutine
	kick    chan struct{}              // wakes that goroutine (capacity 1)
}

func newResultState(handler bool) resultState {
	r := resultState{acked: newIDSet(rememberedIDs), handing: map[string]bool{}}
	if handler {
		r.kick = make(chan struct{}, 1)
	}
	return r
}

// handler says whether results go through the application's hooks.
func (c *Client) handler() bool { return c.opts.OnResult != nil || c.opts.Delivered != nil }

// onDone takes a result. Called with mu held.
func (c *Client) onDone(m *messages.BackendJobDone) {
	id := m.JobID
	if j := c.jobs[id]; j != nil && c.followed(id, m) == nil {
		// Another job's of that id (see followed): left unacknowledged,
		// the backend sends it again once our submission is refused as a
		// duplicate, and OnResult takes it then.
		c.stats.unknownResults.Add(1)
		return
	}
	switch {
	case c.jobs[id] != nil:
		c.deliverDone(c.jobs[id], m)
		c.handOver(m)
	case c.results.acked.has(id):
		c.stats.duplicateResults.Add(1)
		c.log.Debug("duplicate result acknowledged again", "job", id)
		c.ack(id)
	case c.results.handing[id]:
		c.stats.duplicateResults.Add(1)
	case c.finished.has(id):
		// Ours, handed to its Job, but OnResult refused it: try again.
		c.stats.duplicateResults.Add(1)
		c.handOver(m)
	case c.handler():
		// Submitted by an earlier process with our ClientID.
		c.stats.orphanResults.Add(1)
		c.handOver(m)
	default:
		// Left unacknowledged: the backend keeps it for a client that can
		// take it (one with OnResult), until its retention ends.
		c.stats.unknownResults.Add(1)
		c.log.Warn("result for a job this client does not follow, left unacknowledged (set Options.OnResult to take results of an earlier process)",
			"job", id, "status", m.Result.Status)
	}
}

// handOver acknowledges m now, or queues it for the application's hooks.
// Called with mu held.
func (c *Client) handOver(m *messages.BackendJobDone) {
	if !c.handler() {
		c.results.acked.add(m.JobID)
		c.ack(m.JobID)
		return
	}
	c.results.handing[m.JobID] = true
	c.results.queue = append(c.results.queue, m)
	select {
	case c.results.kick <- struct{}{}:
	default:
	}
}

// ack tells the backend the application has the result. A lost ack only
// means the result comes again, and is acknowledged again. Called with mu
// held.
func (c *Client) ack(jobID string) {
	if err := c.send(&messages.Ack{JobID: jobID}); err != nil {
		c.log.Debug("ack not sent; the backend will send the result again", "job", jobID, "err", err)
	}
}

// handResults is the goroutine that calls the application's hooks, one
// result at a time, outside mu. New starts it when a hook is set; it ends
// with the Client (queued results are then left to the backend, which
// sends them to the next process).
func (c *Client) handResults() {
	defer c.wg.Done()
	var warn handlerWarnings
	for {
		select {
		case <-c.stop:
			return
		case <-c.results.kick:
		}
		for {
			c.mu.Lock()
			if c.closed || len(c.results.queue) == 0 {
				c.mu.Unlock()
				break
			}
			m := c.results.queue[0]
			c.results.queue[0] = nil
			c.results.queue = c.results.queue[1:]
			c.mu.Unlock()

			err := c.handOne(m)

			c.mu.Lock()
			delete(c.results.handing, m.JobID)
			if err == nil && !c.closed {
				c.results.acked.add(m.JobID)
				c.finished.add(m.JobID)
				c.ack(m.JobID)
			}
			c.mu.Unlock()
			if err != nil {
				c.stats.handlerErrors.Add(1)
			}
			warn.note(c.log, m.JobID, err, time.Now())
		}
	}
}

// handOne runs the hooks for one result.
func (c *Client) handOne(m *messages.BackendJobDone) error {
	if d := c.opts.Delivered; d != nil && d(m.JobID) {
		c.stats.duplicateResults.Add(1)
		return nil
	}
	if h := c.opts.OnResult; h != nil {
		return h(m)
	}
	return nil
}

// handlerWarnEvery is how often at most OnResult's failures are logged.
const handlerWarnEvery = 30 * time.Second

// handlerWarnings logs OnResult's failures without flooding the log:
// while the application cannot take results (an INGInious webapp that is
// down) the backend resends every pending one each few seconds, and one
// warning each was over a thousand lines a minute in a deadline. It logs
// the first failure, then at most one every handlerWarnEvery with how many
// it left out, and once the hook works again. Owned by handResults.
type handlerWarnings struct {
	last  time.Time // of the last warning; zero: none since a success
	quiet int       // failures since it, not logged
}

func (w *handlerWarnings) note(log *slog.Logger, job string, err error, now time.Time) {
	switch {
	case err == nil && !w.last.IsZero():
		log.Info("OnResult works again: results are handed over", "failures_not_logged", w.quiet)
		*w = handlerWarnings{}
	case err == nil:
	case w.last.IsZero() || now.Sub(w.last) >= handlerWarnEvery:
		log.Warn("OnResult failed; the backend will send the result again", "job", job, "err", err,
			"failures_not_logged", w.quiet, "next_warning_within", handlerWarnEvery)
		w.last, w.quiet = now, 0
	default:
		w.quiet++
	}
}
