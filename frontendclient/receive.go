package frontendclient

import (
	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// noResponders is the status NATS sets on the empty message it returns to
// the reply subject of a message nobody was subscribed to.
const noResponders = "503"

// handle runs on the subscription's delivery goroutine, one message at a
// time. Nothing in a message can make it panic or block for long.
func (c *Client) handle(nm *nats.Msg) {
	if len(nm.Data) == 0 && nm.Header.Get("Status") == noResponders {
		// NATS bounced one of our messages: no backend is subscribed (it
		// is down or restarting). The heartbeat finds out when it is back.
		c.stats.noResponders.Add(1)
		c.log.Debug("no backend is listening")
		c.mu.Lock()
		c.losses++
		c.mu.Unlock()
		return
	}
	if natsconn.Foreign(nm) {
		// The server's answer to somebody's JetStream request, sent here
		// on their behalf: not the backend's.
		c.stats.malformed.Add(1)
		c.peerLog.Warn("a JetStream answer on the client subject, dropped: somebody chose it as a reply subject", "bytes", len(nm.Data))
		return
	}
	items, err := messages.Split(nm.Data)
	if err != nil {
		c.stats.malformed.Add(1)
		c.peerLog.Warn("undecodable batch dropped", "bytes", len(nm.Data), "err", err)
		return
	}
	// The items of a batch are handled in order, as if each came alone.
	for _, data := range items {
		c.handleOne(data)
	}
}

// handleOne handles one message from the backend.
func (c *Client) handleOne(data []byte) {
	msg, err := messages.Decode(data)
	if err != nil {
		c.stats.malformed.Add(1)
		c.peerLog.Warn("undecodable message dropped", "bytes", len(data), "err", err)
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	// Under mu and before closed is set: ordered before Close's Wait.
	c.wg.Add(1)
	defer c.wg.Done()
	var after func()
	switch m := msg.(type) {
	case *messages.BackendUpdateEnvironments:
		after = c.onEnvironments(m)
	case *messages.BackendJobQueued:
		if j := c.job(m.JobID, m); j != nil {
			c.accept(j, true)
		}
	case *messages.BackendJobStarted:
		if j := c.followed(m.JobID, m); j != nil {
			c.accept(j, false)
			c.emit(j, Event{Kind: EventStarted, Started: m})
		} else if h := c.opts.OnStarted; h != nil && c.jobs[m.JobID] == nil {
			// Not while a submission of ours has this id: the news is
			// of the other job then, and would pass for our job's.
			after = func() { h(m) }
		}
	case *messages.BackendJobSSHDebug:
		if j := c.followed(m.JobID, m); j != nil {
			c.accept(j, false)
			c.emit(j, Event{Kind: EventSSH, SSH: m})
		}
	case *messages.BackendJobDone:
		c.onDone(m)
	case *messages.BackendGetQueue:
		c.answerQueue(m)
	case *messages.Pong:
		c.onPingAnswer(false, m.Session)
	case *messages.Unknown:
		c.onPingAnswer(true, m.Session)
	case *messages.Error:
		c.onError(m)
	default:
		c.stats.unexpected.Add(1)
		c.log.Warn("message not meant for a client dropped", "type", msg.MessageName())
	}
	c.mu.Unlock()
	if after != nil {
		after()
	}
}

// job finds one of our jobs, or logs that a message is about another.
// Called with mu held.
func (c *Client) job(id string, m messages.Message) *Job {
	j := c.jobs[id]
	if j == nil {
		// Late news of a finished job, or of one whose NewJob gave up.
		c.log.Debug("message about a job this client does not follow", "type", m.MessageName(), "job", id)
	}
	return j
}

// followed is job for a message that is not an answer to a submission
// (a start, an SSH debug session, a result): nil too for a job whose
// first submission the backend has not answered yet. The backend answers
// a submission before it says anything else of it, in order on our one
// subject, so such news is of another job of the same id: one that an
// earlier process with our ClientID submitted (an API restarted), which a
// submission of its id now would otherwise take as its own, result and
// kill included. A resubmission is different: its first sending may have
// got through, its answer lost. Called with mu held.
func (c *Client) followed(id string, m messages.Message) *Job {
	j := c.job(id, m)
	if j != nil && !j.answered && !j.resubmitted {
		c.log.Debug("message about another job of the id of an unanswered submission", "type", m.MessageName(), "job", id)
		return nil
	}
	return j
}

// onEnvironments records the advertised environments and returns the
// callback to run once mu is released. Called with mu held.
func (c *Client) onEnvironments(m *messages.BackendUpdateEnvironments) func() {
	c.envs = copyEnvs(m.AvailableEnvironments)
	// The backend sends environments only to clients it knows: our hello,
	// or an earlier one, got through.
	c.helloHeard = true
	if !c.isReady {
		c.isReady = true
		close(c.ready)
	}
	fn := c.onEnvs
	if fn == nil {
		return nil
	}
	envs := copyEnvs(c.envs)
	return func() { fn(envs) }
}

// onError routes a refusal. Called with mu held.
func (c *Client) onError(e *messages.Error) {
	if e.Code == messages.CodeThrottled {
		c.refuseQueue(e)
		return
	}
	if e.JobID == "" {
		if e.Code == messages.CodeProtocolVersion && c.readyErr == nil {
			c.readyErr = e
			close(c.readyFailed)
		}
		// Limited: a flood of anything refused is a line each.
		c.peerLog.Error("backend refused a message", "err", e)
		return
	}
	// A submission is never answered with CodeUnknownJob: that is a kill's.
	if j := c.jobs[e.JobID]; j != nil && !j.answered && e.Code != messages.CodeUnknownJob {
		c.refused(j, e)
		return
	}
	if c.refuseKill(e) {
		return
	}
	if e.Code == messages.CodeDuplicateJob && (c.jobs[e.JobID] != nil || c.finished.has(e.JobID)) {
		// A resubmission that crossed the answer to the previous one,
		// or the job's result (it finished while we resubmitted).
		c.log.Debug("duplicate answer to a resubmission", "job", e.JobID)
		return
	}
	c.log.Warn("backend refused a message about a job", "err", e)
}
