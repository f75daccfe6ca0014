package agent

import (
	"errors"
	"fmt"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// Two processes may share an agent id: a restarted agent and its previous
// process, or two agents given the same credentials by mistake. Both
// receive everything sent on the id's subject, so the backend names the
// session a message is for, and the agent acts only on its own (or on
// messages that name none: those of an older backend, or about an attempt
// the backend cannot place).

// forOthers reports, and logs, a message for another process of this
// agent id, which this one must not act on.
func (a *Agent) forOthers(m messages.Message) bool {
	s := messages.SessionOf(m)
	if s == "" || s == a.session {
		return false
	}
	a.stats.otherSession.Add(1)
	switch m := m.(type) {
	case *messages.BackendAgentConflict:
		// This process is the registered one; the operator of the other
		// learns it from that process's error.
		a.log.Warn("another process with this agent id said hello and was refused: give each agent its own credentials", "its_session", s)
	case *messages.BackendNewJob, *messages.BackendKillJob:
		a.log.Info("dropped a message for another process with this agent id", "message", m.MessageName(), "its_session", s)
	default:
		a.log.Debug("dropped a message for another process with this agent id", "message", m.MessageName(), "its_session", s)
	}
	return true
}

// heardAsRegistered records an answer of the backend naming this session
// as the registered process of the id (the Ack of a hello, a Pong). It
// reports whether it was not registered before: a dead process's leftovers
// may go now.
func (a *Agent) heardAsRegistered() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	was := a.registeredLocked()
	a.confirmed = time.Now()
	if !a.refusedSince.IsZero() {
		a.log.Info("the other process with this agent id is gone: registered in its place")
		a.refusedSince = time.Time{}
	}
	return !was
}

// unregistered: the backend does not hold this session now (it answered
// Unknown, or holds another process).
//
// It says whether the agent counted itself registered until then: the
// answers to a burst of pings (a reconnection delivers them together)
// are news once.
func (a *Agent) unregistered() (was bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	was = !a.confirmed.IsZero()
	a.confirmed = time.Time{}
	return was
}

// registered says whether the backend recently named this session the
// registered process of the id. Only then may Cleanup remove other
// sessions' resources: the backend accepts a session only when no other
// process of the id was heard within its heartbeat timeout, and takes the
// id from this one only after that long without hearing it. Two heartbeat
// periods is well within the backend's timeout (five by default), so a
// process cut off from NATS stops counting itself registered before
// another can take its place.
func (a *Agent) registered() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.registeredLocked()
}

func (a *Agent) registeredLocked() bool {
	return !a.confirmed.IsZero() && time.Since(a.confirmed) <= 2*a.cfg.HeartbeatInterval
}

// ErrConflict is wrapped by Run's error when the backend kept refusing the
// agent because another process with the same id is live.
var ErrConflict = errors.New("agent: another agent with this id is live")

// ConflictError says which agent holds the id: Run's error when the
// backend refused this process for longer than it takes to drop a dead
// one.
type ConflictError struct {
	ID, Name        string
	Since, LastSeen time.Time
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("another agent with id %s is live: name %q, since %s, last heard %s; give each agent its own credentials (ingo creds --role agent --name NAME)",
		e.ID, e.Name, e.Since.Format(time.RFC3339), e.LastSeen.Format(time.RFC3339Nano))
}

func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// refused handles the backend's refusal of this process: another one with
// the same id is registered and live. The process says hello again at each
// heartbeat (isRefused): were the other dead, the backend drops it once it
// has been silent for m.Timeout, and the next hello is accepted. Refused
// for longer than that (and two heartbeats), the other is alive: Run stops
// with a ConflictError.
func (a *Agent) refused(m *messages.BackendAgentConflict) {
	a.stats.conflicts.Add(1)
	e := &ConflictError{ID: a.cfg.ID, Name: m.Name, Since: time.UnixMilli(m.Since), LastSeen: time.UnixMilli(m.LastSeen)}
	patience := time.Duration(max(m.Timeout, 0))*time.Millisecond + 2*a.cfg.HeartbeatInterval
	a.mu.Lock()
	a.confirmed = time.Time{}
	first := a.refusedSince.IsZero()
	if first {
		a.refusedSince = time.Now()
	}
	over := time.Since(a.refusedSince) > patience
	giveUp := a.giveUp
	a.mu.Unlock()
	switch {
	case over:
		a.log.Error("the backend refused this agent: "+e.Error(), "session", a.session)
		if giveUp != nil {
			giveUp(e)
		}
	case first:
		a.log.Warn("the backend refused this agent: another process with its id is live; saying hello again until it goes silent",
			"other_name", e.Name, "other_since", e.Since, "other_last_heard", e.LastSeen, "waiting_up_to", patience)
	}
}

// isRefused says whether the backend refuses this process now.
func (a *Agent) isRefused() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.refusedSince.IsZero()
}
