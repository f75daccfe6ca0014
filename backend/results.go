package backend

import (
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// A finished job's result is delivered at least once: it is sent when the
// job finishes and again (every ResultResend while its client is alive, and
// at once when the client says hello) until the client acknowledges it
// with an Ack, or ResultRetention passes. The client library drops
// duplicates by job id. With a durable journal the result's records stay
// in JetStream until then, so a backend restart does not lose it either.

// unacked is a result its client has not acknowledged yet.
type unacked struct {
	jobID    string
	finished time.Time
	sentAt   time.Time // zero: never sent (replayed, or the client was away)
}

// deliver sends a fresh result to its client (apply already tracks it),
// even one that seems away: a publish to nobody costs nothing, and a
// client that only went quiet gets it without waiting for a resend.
func (b *Backend) deliver(clientID string, r *messages.BackendJobDone) {
	b.deliverEncoded(clientID, r, nil)
}

// deliverEncoded is deliver with r's encoding at hand (nil: encode it).
func (b *Backend) deliverEncoded(clientID string, r *messages.BackendJobDone, wire []byte) {
	if wire == nil {
		b.toClient(clientID, r)
	} else {
		b.replyEncoded(b.subj.Client(clientID), r.MessageName(), wire)
	}
	if u := b.unacked[clientID][r.JobID]; u != nil {
		u.sentAt = b.now()
	}
}

// maxResendsPerTick bounds one tick's work: a client back after a long
// absence gets its backlog over several ticks, not in one burst.
const maxResendsPerTick = 1000

// track records that clientID owes an ack for jobID. Part of apply.
func (b *Backend) track(clientID, jobID string, finished time.Time) *unacked {
	m := b.unacked[clientID]
	if m == nil {
		m = make(map[string]*unacked)
		b.unacked[clientID] = m
	}
	u := &unacked{jobID: jobID, finished: finished}
	m[jobID] = u
	b.unackedCount++
	return u
}

// clientAlive: the client was heard from recently, so sending is useful.
// A client that is away gets everything when it says hello again.
func (b *Backend) clientAlive(id string) bool {
	c := b.clients[id]
	return c != nil && b.now().Sub(c.lastSeen) <= b.liveness()
}

func (b *Backend) liveness() time.Duration {
	return b.cfg.HeartbeatInterval * timeDuration(b.cfg.HeartbeatMisses)
}

// ackResult handles a client's Ack of a result: the job's records can go.
func (b *Backend) ackResult(c *client, jobID string) {
	u := b.unacked[c.id][jobID]
	if u == nil {
		// Acked already (an ack sent twice), or not this client's job.
		return
	}
	b.dropUnacked(c.id, u)
	b.stats.resultsAcked.Add(1)
}

// dropUnacked ends the wait for an ack, and lets the journal forget the
// job. The id stays taken in done for the rest of DoneRetention.
func (b *Backend) dropUnacked(clientID string, u *unacked) {
	delete(b.unacked[clientID], u.jobID)
	if len(b.unacked[clientID]) == 0 {
		delete(b.unacked, clientID)
	}
	b.unackedCount--
	b.forgetDelivered(u.jobID) // history.go: once the history holds it
	if d := b.done[u.jobID]; d != nil && d.orphan {
		// Kept past DoneRetention only for this wait.
		b.dropResult(d)
		delete(b.done, u.jobID)
	}
}

// resendResults sends every unacknowledged result of a client, oldest
// first is not promised: the client takes them in any order.
func (b *Backend) resendResults(clientID string) {
	now := b.now()
	n := 0
	for _, u := range b.unacked[clientID] {
		if n == maxResendsPerTick {
			return // the rest at the next ticks
		}
		b.resend(clientID, u, now)
		n++
	}
}

func (b *Backend) resend(clientID string, u *unacked, now time.Time) {
	if !b.sendResult(clientID, u.jobID) {
		return
	}
	u.sentAt = now
	b.stats.resultsResent.Add(1)
}

// sendResult sends a finished job's result to clientID again, from
// memory or from the journal, and says whether it could.
func (b *Backend) sendResult(clientID, jobID string) bool {
	d := b.done[jobID]
	switch {
	case d == nil:
		return false
	case d.result != nil:
		b.replyEncoded(b.subj.Client(clientID), (*messages.BackendJobDone)(nil).MessageName(), d.result)
		return true
	case b.unacked[d.clientID][jobID] == nil:
		return false // delivered, and forgotten by the journal
	}
	rs, ok := b.cfg.Journal.(ResultStore)
	if !ok {
		b.log.Warn("result dropped from memory (done-memory) and no durable journal to read it back", "job", jobID)
		return false
	}
	r, err := rs.LoadResult(jobID)
	if err != nil {
		b.log.Warn("cannot read a result back from the journal; trying again later", "job", jobID, "err", err)
		return false
	}
	b.toClient(clientID, r)
	return true
}

// tickResults resends what alive clients have not acknowledged, and drops
// results older than ResultRetention.
func (b *Backend) tickResults() {
	if b.unackedCount == 0 {
		return
	}
	now := b.now()
	expire := now.Add(-b.cfg.ResultRetention)
	budget := maxResendsPerTick
	for clientID, m := range b.unacked {
		alive := b.clientAlive(clientID)
		for _, u := range m {
			switch {
			case u.finished.Before(expire):
				b.log.Warn("result never acknowledged by its client; dropped", "job", u.jobID, "client", clientID, "finished", u.finished)
				b.stats.resultsExpired.Add(1)
				b.dropUnacked(clientID, u)
			case alive && budget > 0 && now.Sub(u.sentAt) >= b.cfg.ResultResend:
				b.resend(clientID, u, now)
				budget--
			}
		}
	}
}
