package agent

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// pending is a result sent and not yet answered. It is kept encoded: a
// result is produced once and only its bytes travel again.
type pending struct {
	data     []byte
	lastSent time.Time
}

// maxRemembered bounds how many finished attempts the agent remembers, to
// ignore late kills and duplicate jobs for them.
const maxRemembered = 8192

// deliver records the one result of attempt k, and sends it. It is the only
// way a result is produced. prevState is the job's state before the
// attempt, kept by the results that replace an unsendable one.
func (a *Agent) deliver(k messages.JobAttempt, res messages.JobResult, prevState string) {
	data, status := a.encodeResult(k, res, prevState)
	a.stats.results.Add(1)
	if a.cfg.Observer != nil {
		a.cfg.Observer.JobFinished(status)
	}
	a.keep(k, data)
}

// maxReason bounds the reason of a refusal, which may come from a runtime.
const maxReason = 1000

// refuse hands attempt k back to the backend (AgentJobRefused): the agent
// did not run it and will not, for a reason that is its own, not the
// job's. The backend re-queues the job instead of ending it as a crash. It
// is the attempt's one outcome in place of a result, kept and sent again
// as results are.
func (a *Agent) refuse(k messages.JobAttempt, reason string) {
	reason = strings.ToValidUTF8(reason, "?")
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "")
	}
	// A job id, an attempt number and a short valid text: this encoding
	// cannot fail.
	data, _ := messages.Encode(&messages.AgentJobRefused{JobID: k.JobID, Attempt: k.Attempt, Reason: reason})
	a.stats.refusals.Add(1)
	a.log.Info("attempt handed back to the backend", "job", k.JobID, "attempt", k.Attempt, "reason", reason)
	a.keep(k, data)
}

// keep records the one outcome of attempt k, encoded, and sends it.
func (a *Agent) keep(k messages.JobAttempt, data []byte) {
	a.mu.Lock()
	if at := a.attempts[k]; at != nil && at.instant {
		a.instant--
	}
	delete(a.attempts, k)
	a.finished.add(k)
	p := &pending{data: data, lastSent: time.Now()} // about to be: not due for a resend
	a.results[k] = p
	a.mu.Unlock()
	a.publishResult(k, p)
	wake(a.changed)
}

// encodeResult returns the wire form of a result. A result the backend
// could not read (a value CBOR cannot carry, invalid UTF-8) or that NATS
// would not carry (over max_payload) is replaced by one that says so,
// because a result that is never acknowledged would be resent forever and
// its job never finished. It also returns the status sent.
func (a *Agent) encodeResult(k messages.JobAttempt, res messages.JobResult, prevState string) ([]byte, messages.Status) {
	m := &messages.AgentJobDone{JobID: k.JobID, Attempt: k.Attempt, JobResult: res}
	data, err := messages.Encode(m)
	if err == nil {
		// The backend's strict rules, checked without a second decode:
		// what passes here is what the backend will accept.
		err = m.JobResult.CheckEncoded(data)
	}
	limit := a.nc.MaxPayload()
	switch {
	case errors.Is(err, messages.ErrTooManyItems):
		// The grader's doing (or the student's, whose output it passed
		// on), as feedback over max_payload is: an error, not a crash.
		a.log.Warn("result with too many free-form values; replaced by an error", "job", k.JobID, "attempt", k.Attempt)
		m.JobResult = messages.NewJobResult(messages.StatusError, containers.TextTooManyValues, prevState)
	case err != nil:
		a.log.Error("result cannot be sent as it is; replaced by a crash", "job", k.JobID, "attempt", k.Attempt, "err", err)
		m.JobResult = messages.NewJobResult(messages.StatusCrash, textUnsendable, prevState)
	case limit > 0 && int64(len(data)) > limit:
		a.log.Error("result over NATS max_payload; replaced by an error", "job", k.JobID, "attempt", k.Attempt, "bytes", len(data), "max_payload", limit)
		m.JobResult = messages.NewJobResult(messages.StatusError, fmt.Sprintf(
			"The feedback is too large to be sent back (%d bytes; the limit is %d bytes).", len(data), limit), prevState)
	default:
		return data, m.JobResult.Result.Status
	}
	a.stats.resultsReplaced.Add(1)
	// Only fixed texts and the previous state are left, and the state came
	// from the backend's own message: this encoding cannot fail.
	data, _ = messages.Encode(m)
	return data, m.JobResult.Result.Status
}

func (a *Agent) publishResult(k messages.JobAttempt, p *pending) {
	a.mu.Lock()
	p.lastSent = time.Now()
	a.mu.Unlock()
	if err := a.publish(p.data); err != nil {
		a.stats.sendErrors.Add(1)
		a.log.Warn("send result failed; will retry", "job", k.JobID, "attempt", k.Attempt, "err", err)
	}
}

// resend sends again every unanswered result last sent before cutoff.
func (a *Agent) resend(cutoff time.Time) {
	a.mu.Lock()
	var due []messages.JobAttempt
	for k, p := range a.results {
		if cutoff.IsZero() || p.lastSent.Before(cutoff) {
			due = append(due, k)
		}
	}
	a.mu.Unlock()
	for _, k := range due {
		a.mu.Lock()
		p := a.results[k]
		a.mu.Unlock()
		if p == nil { // answered meanwhile
			continue
		}
		a.stats.resultsResent.Add(1)
		a.publishResult(k, p)
	}
}

// forget forgets a result the backend accepted (Ack) or refused for good
// (Error CodeStaleAttempt or CodeUnknownJob).
func (a *Agent) forget(k messages.JobAttempt) bool {
	a.mu.Lock()
	_, ok := a.results[k]
	delete(a.results, k)
	a.mu.Unlock()
	if ok {
		wake(a.changed)
	}
	return ok
}

// recent is a bounded set that forgets its oldest members first.
type recent struct {
	set  map[messages.JobAttempt]struct{}
	ring []messages.JobAttempt
	next int
}

func newRecent(n int) recent {
	return recent{set: make(map[messages.JobAttempt]struct{}, n), ring: make([]messages.JobAttempt, 0, n)}
}

func (r *recent) has(k messages.JobAttempt) bool {
	_, ok := r.set[k]
	return ok
}

func (r *recent) add(k messages.JobAttempt) {
	if r.has(k) {
		return
	}
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, k)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = k
		r.next = (r.next + 1) % len(r.ring)
	}
	r.set[k] = struct{}{}
}
