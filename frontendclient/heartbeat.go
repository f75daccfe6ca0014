package frontendclient

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/messages"
)

// heartbeatState numbers pings so that an answer proves what reached the
// backend before it (see "Heartbeat" in the package doc). Guarded by mu.
type heartbeatState struct {
	sent     uint64     // pings sent so far; ping n is the n-th
	inflight []sentPing // unanswered pings, oldest first
	// tag starts every ping's Session, which the backend echoes in its
	// answer: "tag.n" for ping n. Random per Client, so that answers to an
	// earlier process of our ClientID (an API restarted) are not ours.
	tag string
}

type sentPing struct {
	seq uint64
	at  time.Time
}

// heartbeat pings the backend and reacts to NATS reconnects. It is owned
// by the Client: started by New, ended by shutdown.
func (c *Client) heartbeat() {
	defer c.wg.Done()
	tick := time.NewTicker(c.opts.PingInterval)
	defer tick.Stop()
	status := c.status
	for {
		select {
		case <-c.stop:
			return
		case now := <-tick.C:
			c.mu.Lock()
			if !c.closed {
				c.expirePings(now)
				// A ping buffered during an outage would be answered long
				// after it means anything; the reconnect says hello anyway.
				if c.nc.IsConnected() {
					c.ping()
				}
			}
			c.mu.Unlock()
		case st, ok := <-status:
			if !ok {
				status = nil
				continue
			}
			switch st {
			case nats.CONNECTED:
				c.reconnected()
			case nats.CLOSED:
				_ = c.shutdown(nats.ErrConnectionClosed)
				return
			}
		}
	}
}

// ping sends one Ping. Called with mu held.
func (c *Client) ping() {
	c.hb.sent++
	if err := c.send(&messages.Ping{Session: c.hb.tag + "." + strconv.FormatUint(c.hb.sent, 10)}); err != nil {
		c.log.Debug("ping not sent", "err", err)
		return
	}
	c.hb.inflight = append(c.hb.inflight, sentPing{seq: c.hb.sent, at: time.Now()})
}

// expirePings forgets pings unanswered for RequestTimeout: they were lost,
// and keeping them would make every later answer look older than it is.
// Called with mu held.
func (c *Client) expirePings(now time.Time) {
	i := 0
	for i < len(c.hb.inflight) && now.Sub(c.hb.inflight[i].at) >= c.opts.RequestTimeout {
		i++
	}
	if i > 0 {
		c.hb.inflight = slices.Delete(c.hb.inflight, 0, i)
	}
}

// lossMark changes whenever messages between us and the backend may have
// been lost: NATS reconnected, bounced a message (no backend subscribed),
// or the backend forgot us. The order argument of the package doc holds
// only while it stays the same. Called with mu held.
func (c *Client) lossMark() uint64 {
	return c.losses + c.nc.Stats().Reconnects
}

// onPingAnswer handles Pong, or Unknown when the backend does not know us,
// with the Session it echoes. Called with mu held.
func (c *Client) onPingAnswer(unknown bool, session string) {
	c.stats.lastPong.Store(time.Now().UnixNano())
	if unknown {
		c.losses++
	}
	// A backend that refused our hello for good (protocol version) would
	// refuse it again: do not say it on every ping.
	rehello := unknown && c.readyErr == nil
	s, ok := c.answered(session)
	if !ok {
		// Unsolicited, or the answer to a ping we took as lost: it proves
		// nothing about order. Unknown after the backend answered our
		// latest hello still means it lost us since.
		if rehello && c.helloHeard {
			c.backendForgotUs(c.hb.sent + 1)
		}
		return
	}
	if rehello && c.helloSeq < s {
		c.backendForgotUs(s)
	}
	if !c.helloHeard && c.helloSeq < s && c.readyErr == nil {
		c.log.Debug("hello lost, saying it again")
		c.sayHello()
	}
	c.resendLost(s)
	c.releaseKills(s)
	c.requeryQueue(s)
}

// answered finds the ping an answer is to, by the Session the backend
// echoed, and forgets it and the older unanswered ones: the backend answers
// in order, so those were lost (bounced while no backend listened, or sent
// to one that died). Matching with the oldest instead took every answer
// after an outage for one to a bounced ping, sent up to RequestTimeout
// earlier, for as long as the client ran: what was sent during the next
// outage was resent only that much later. An answer without a Session
// (a backend older than the echo) is matched with the oldest, as before.
// Called with mu held.
func (c *Client) answered(session string) (uint64, bool) {
	if len(c.hb.inflight) == 0 {
		return 0, false
	}
	if session == "" {
		s := c.hb.inflight[0].seq
		c.hb.inflight = slices.Delete(c.hb.inflight, 0, 1)
		return s, true
	}
	n, ok := strings.CutPrefix(session, c.hb.tag+".")
	if !ok {
		return 0, false // another process's ping
	}
	s, err := strconv.ParseUint(n, 10, 64)
	if err != nil {
		return 0, false
	}
	i := slices.IndexFunc(c.hb.inflight, func(p sentPing) bool { return p.seq == s })
	if i < 0 {
		return 0, false // taken as lost already
	}
	c.hb.inflight = slices.Delete(c.hb.inflight, 0, i+1)
	return s, true
}

// backendForgotUs handles a backend that lost track of us (it restarted):
// what we sent before ping s may be gone with it. Say hello again and
// resubmit. Called with mu held.
func (c *Client) backendForgotUs(s uint64) {
	select {
	case <-c.ready:
		c.log.Info("backend does not know this client (restarted?): saying hello and resubmitting", "jobs", len(c.jobs))
	default:
		// Not welcomed yet: a ping crossing the first hello is no news.
		c.log.Debug("backend does not know this client yet: saying hello again", "jobs", len(c.jobs))
	}
	for _, j := range c.jobs {
		if j.sentAfterPing < s {
			j.answered = false
			c.unanswered[j.id] = j
		}
	}
	c.sayHello()
}

// reconnected runs after NATS came back: whatever the backend sent us
// meanwhile is lost, whatever we sent may be. Say hello and resubmit every
// job without a result; the backend answers a finished one with its result.
func (c *Client) reconnected() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.log.Info("NATS reconnected: saying hello and resubmitting", "jobs", len(c.jobs))
	// Pings sent before are lost, or answered late by a backend that
	// buffered its pongs: a late answer is then unsolicited (its tag is
	// not in flight any more), or, from an older backend that does not
	// echo tags, misnumbers the next answers (a needless resend at worst,
	// never a lost one).
	c.hb.inflight = nil
	c.sayHello()
	for _, j := range c.jobs {
		j.answered = false
		c.unanswered[j.id] = j
	}
	c.resendLost(c.hb.sent + 1)
}

// resendLost sends again, in submission order, every unanswered job sent
// before ping s. Called with mu held.
func (c *Client) resendLost(s uint64) {
	if len(c.unanswered) == 0 {
		return
	}
	var lost []*Job
	for _, j := range c.unanswered {
		if j.sentAfterPing < s {
			lost = append(lost, j)
		}
	}
	slices.SortFunc(lost, func(a, b *Job) int { return compareUint(a.seq, b.seq) })
	for _, j := range lost {
		c.resend(j)
	}
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
