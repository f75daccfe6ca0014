package agent

import (
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// handle is the callback of the agent's subscription. NATS calls it from
// one goroutine, in the order the backend sent: Started is therefore sent
// before the attempt starts, and a kill always finds the attempt it is
// about. It never blocks on a job and never panics on input.
func (a *Agent) handle(msg *nats.Msg) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.handlers.Add(1)
	a.mu.Unlock()
	defer a.handlers.Done()

	if natsconn.IsStatus(msg) {
		// NATS bounced something we sent with our subject as reply: nobody
		// listens on the backend subject. Heartbeats and result resends
		// carry on; this is news, not garbage.
		a.stats.noResponders.Add(1)
		return
	}
	if natsconn.Foreign(msg) {
		// The server's answer to somebody's JetStream request, sent here
		// on their behalf: not the backend's.
		a.stats.malformed.Add(1)
		a.peerLog.Warn("a JetStream answer on the agent subject, dropped: somebody chose it as a reply subject", "bytes", len(msg.Data))
		return
	}
	items, err := messages.Split(msg.Data)
	if err != nil {
		a.stats.malformed.Add(1)
		a.peerLog.Warn("undecodable batch on the agent subject", "bytes", len(msg.Data), "err", err)
		a.answerError(msg, messages.CodeMalformed, err.Error())
		return
	}
	// The items of a batch are handled in order, as if each came alone.
	for _, data := range items {
		a.handleOne(msg, data)
	}
}

// handleOne handles one message from the backend.
func (a *Agent) handleOne(msg *nats.Msg, data []byte) {
	m, err := messages.Decode(data)
	if err != nil {
		a.stats.malformed.Add(1)
		a.peerLog.Warn("undecodable message on the agent subject", "bytes", len(data), "err", err)
		a.answerError(msg, messages.CodeMalformed, err.Error())
		return
	}
	if a.forOthers(m) {
		return
	}
	switch m := m.(type) {
	case *messages.BackendNewJob:
		a.newJob(m)
	case *messages.BackendKillJob:
		a.killJob(m)
	case *messages.Ack:
		a.ack(m)
	case *messages.BackendAgentConflict:
		a.refused(m)
	case *messages.Error:
		a.backendError(m)
	case *messages.Pong:
		a.stats.pongs.Add(1)
		if m.Session != "" && a.heardAsRegistered() {
			wake(a.cleanNow)
		}
	case *messages.Unknown:
		a.stats.unknowns.Add(1)
		if a.unregistered() {
			a.log.Info("the backend does not know this agent; saying hello again")
		} else {
			a.log.Debug("the backend does not know this agent (again); a hello is on its way")
		}
		a.requestHello()
	default:
		a.stats.unexpected.Add(1)
		a.peerLog.Warn("unexpected message on the agent subject", "message", m.MessageName())
		a.answerError(msg, messages.CodeUnexpected, m.MessageName()+" is not for agents")
	}
}

// answerError records why a message was dropped. Only the backend may
// publish on an agent's subject (natsauth), and the agent may publish
// nowhere but its own backend subject: a reply subject is never answered.
func (a *Agent) answerError(msg *nats.Msg, code messages.ErrorCode, text string) {
	a.peerLog.Warn("dropped a message", "subject", msg.Subject, "code", code, "why", text)
}

func validAttempt(jobID string, attempt int) error {
	if err := messages.ValidateID(jobID); err != nil {
		return fmt.Errorf("job id: %w", err)
	}
	if attempt <= 0 {
		return fmt.Errorf("attempt %d is not positive", attempt)
	}
	return nil
}

// newJob takes one attempt. Whatever happens, a well-formed job gets
// exactly one AgentJobDone later, after AgentJobStarted at once, or one
// AgentJobRefused at once when the agent cannot take it.
func (a *Agent) newJob(m *messages.BackendNewJob) {
	if err := validAttempt(m.JobID, m.Attempt); err != nil {
		a.stats.malformed.Add(1)
		a.log.Warn("BackendNewJob with invalid fields dropped", "job", m.JobID, "attempt", m.Attempt, "err", err)
		return
	}
	a.stats.jobsReceived.Add(1)
	k := messages.JobAttempt{JobID: m.JobID, Attempt: m.Attempt}
	prev := previousState(&m.JobDescription)

	// Instant jobs (multiple-choice quizzes) take no slot: a quiz must
	// not wait behind the programs of a deadline.
	instant := messages.Instant(m.EnvironmentType)
	a.mu.Lock()
	a.lastSeq = max(a.lastSeq, m.Seq)
	duplicate := a.attempts[k] != nil || a.results[k] != nil || a.finished.has(k)
	var refusal string
	switch {
	case duplicate && a.attempts[k] == nil && a.results[k] == nil:
		// Finished, and its outcome acknowledged or refused as stale:
		// only a backend that lost the job (restarted without its
		// journal) sends it again, under a number it has reused.
		// Ignored, the job would wait for that backend's confirmation
		// timeout; handed back, it is re-queued at once.
		duplicate, refusal = false, textRanAlready
	case duplicate:
	case a.stopping:
		refusal = textShutdownNew
	case instant && a.instant >= messages.InstantSlots, !instant && len(a.attempts)-a.instant >= a.cfg.Slots:
		refusal = textNoSlot
	}
	var at *attempt
	if !duplicate && refusal == "" {
		at = newAttempt(a.jobsCtx, k, m, prev)
		at.instant = instant
		a.attempts[k] = at
		if instant {
			a.instant++
		}
		a.jobs.Add(1)
	}
	a.mu.Unlock()

	switch {
	case duplicate:
		a.stats.jobsDuplicate.Add(1)
		a.log.Warn("BackendNewJob for an attempt already taken; ignored", "job", k.JobID, "attempt", k.Attempt)
		return
	case refusal == textShutdownNew:
		a.stats.jobsRefused.Add(1)
		a.log.Info("job refused: shutting down", "job", k.JobID, "attempt", k.Attempt)
	case refusal == textRanAlready:
		a.stats.jobsDuplicate.Add(1)
		a.log.Warn("BackendNewJob for an attempt finished already; handed back", "job", k.JobID, "attempt", k.Attempt)
	case refusal == textNoSlot:
		a.stats.jobsOverCommit.Add(1)
		a.log.Error("the backend sent a job while every slot is busy; refusing it", "job", k.JobID, "attempt", k.Attempt, "slots", a.cfg.Slots)
	}
	if at == nil {
		a.refuse(k, refusal)
		return
	}
	a.send(&messages.AgentJobStarted{JobID: k.JobID, Attempt: k.Attempt})
	a.startAttempt(at)
}

// killJob cancels a running attempt with ErrKilled. A kill is idempotent;
// one for an attempt already finished is ignored, and one for an attempt
// this agent never saw is answered with a killed result keeping the state
// the backend sent (INGInious #743), so that the backend can end the job.
func (a *Agent) killJob(m *messages.BackendKillJob) {
	if err := validAttempt(m.JobID, m.Attempt); err != nil {
		a.stats.malformed.Add(1)
		a.log.Warn("BackendKillJob with invalid fields dropped", "job", m.JobID, "attempt", m.Attempt, "err", err)
		return
	}
	k := messages.JobAttempt{JobID: m.JobID, Attempt: m.Attempt}
	a.mu.Lock()
	at := a.attempts[k]
	known := at != nil || a.results[k] != nil || a.finished.has(k)
	a.mu.Unlock()
	switch {
	case at != nil:
		a.stats.kills.Add(1)
		a.log.Info("killing attempt", "job", k.JobID, "attempt", k.Attempt)
		at.cancel(containers.ErrKilled)
	case known:
		a.stats.killsIgnored.Add(1)
		a.log.Debug("kill for a finished attempt ignored", "job", k.JobID, "attempt", k.Attempt)
	default:
		a.stats.killsUnknown.Add(1)
		a.log.Info("kill for an unknown attempt: answering killed", "job", k.JobID, "attempt", k.Attempt)
		a.deliver(k, messages.NewJobResult(messages.StatusKilled, textKilled, m.State), m.State)
	}
}

// ack handles the backend's acceptance of a hello (no job) or a result.
// The first Ack naming this session lets what dead processes of this agent
// id left behind go.
func (a *Agent) ack(m *messages.Ack) {
	if m.JobID == "" {
		if m.Session != "" && a.heardAsRegistered() {
			a.log.Info("registered with the backend", "session", a.session)
			wake(a.cleanNow)
		}
		a.log.Debug("hello acknowledged")
		return
	}
	k := messages.JobAttempt{JobID: m.JobID, Attempt: m.Attempt}
	if a.forget(k) {
		a.stats.resultsAcked.Add(1)
		return
	}
	a.log.Debug("Ack for no pending result", "job", k.JobID, "attempt", k.Attempt)
}

// backendError handles a refusal. A refused result is forgotten when the
// backend will never take it (stale attempt, unknown job); other codes
// (unavailable, ...) leave it to be sent again.
func (a *Agent) backendError(m *messages.Error) {
	a.stats.backendErrors.Add(1)
	if m.JobID == "" {
		if m.Code == messages.CodeProtocolVersion || m.Code == messages.CodeBadRequest {
			a.stats.helloRefused.Add(1)
		}
		a.log.Error("the backend refused a message of the agent", "code", m.Code, "text", m.Text)
		return
	}
	k := messages.JobAttempt{JobID: m.JobID, Attempt: m.Attempt}
	if m.Code == messages.CodeStaleAttempt || m.Code == messages.CodeUnknownJob {
		if a.forget(k) {
			a.stats.resultsRefused.Add(1)
			a.log.Warn("the backend refused a result; forgotten", "job", k.JobID, "attempt", k.Attempt, "code", m.Code, "text", m.Text)
			return
		}
	}
	a.log.Warn("the backend refused a message", "job", k.JobID, "attempt", k.Attempt, "err", error(m))
}

// previousState is the state the job had before this attempt, which a
// result that is not the grader's (killed, crash) keeps.
func previousState(d *messages.JobDescription) string {
	s, _ := d.InputData["@state"].(string)
	return s
}
