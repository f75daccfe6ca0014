package backend

import (
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// An agent id is the name in an agent's credentials, and NATS lets any
// process holding them use its subjects: a restarted agent beside its dead
// predecessor, or two agents given the same credentials by mistake. The
// backend registers one process (session) per id at a time, keeps it while
// it is heard, and names that session on what it sends it, since every
// process of the id receives what goes to the id's subject.

// heard records news of the registered process of an agent: a ping of its
// session, or a message about one of its current attempts. Nothing else
// keeps it alive, so that a second process of the id cannot keep a dead
// one registered.
func (b *Backend) heard(a *agent, at time.Time) {
	if a != nil && at.After(a.lastSeen) {
		a.lastSeen = at
	}
}

// agentPing keeps the registered process of an agent id alive. A ping of
// another session comes from a process the backend does not hold (a
// refused one, or one dropped for silence whose id another took): it keeps
// nobody alive, and is answered Unknown so that that process says hello
// again. Agents of older versions send no session.
func (b *Backend) agentPing(a *agent, ev event, m *messages.Ping) {
	if a == nil || (m.Session != "" && m.Session != a.session) {
		b.toAgent(ev.sender, &messages.Unknown{Session: m.Session})
		return
	}
	b.heard(a, ev.at)
	b.toAgent(a.id, &messages.Pong{Session: m.Session})
}

// live says whether the registered process a was heard within the
// heartbeat timeout, that is, whether tick would keep it.
func (b *Backend) live(a *agent) bool {
	return b.now().Sub(a.lastSeen) <= b.liveness()
}

// refuseConflict refuses the hello of a second process of a live agent id
// and keeps the live one, its jobs and its slots. The refused process may
// try again: once the live one has been silent for the heartbeat timeout,
// tick drops it and the next hello is accepted.
func (b *Backend) refuseConflict(live *agent, m *messages.AgentHello) {
	b.stats.refused.Add(1)
	silent := b.now().Sub(live.lastSeen)
	attrs := []any{"agent", live.id, "live_name", live.name, "live_since", live.since, "last_heard", silent.Round(time.Millisecond),
		"refused_name", m.FriendlyName}
	if b.looksRestarted(silent) {
		// An agent restarted at once (systemctl restart, an upgrade)
		// says hello before the backend dropped its predecessor: routine,
		// and it says hello again until it is accepted.
		b.log.Info("a new process of an agent says hello while its silent predecessor is still registered (a restart?): accepted once the predecessor has been silent for the heartbeat timeout",
			append(attrs, "timeout", b.liveness())...)
	} else {
		b.log.Warn("refused a second process of a live agent: give each agent its own credentials", attrs...)
	}
	b.toAgent(live.id, &messages.BackendAgentConflict{
		Session: m.Session, Name: live.name, Since: live.since.UnixMilli(), LastSeen: live.lastSeen.UnixMilli(),
		// The live one is dropped at the first tick past the heartbeat
		// timeout.
		Timeout: (b.liveness() + b.tickInterval()).Milliseconds(),
	})
}

// looksRestarted says whether a registered process silent this long has
// probably stopped: agents ping every second (the backend's own interval
// by default), so two intervals of silence are no live process's.
func (b *Backend) looksRestarted(silent time.Duration) bool {
	return silent > 2*max(b.cfg.HeartbeatInterval, time.Second)
}

// sessionOf is the registered session of an agent id, "" when none is
// (after a backend restart, until the agent says hello again): then every
// process of the id acts on the message, as before sessions were named.
func (b *Backend) sessionOf(agentID string) string {
	if a := b.agents[agentID]; a != nil {
		return a.session
	}
	return ""
}

// killAttempt asks the agent process that runs j's attempt to stop it.
func (b *Backend) killAttempt(j *job) {
	b.toAgent(j.agentID, &messages.BackendKillJob{JobID: j.id(), Attempt: j.attempt, State: b.previousState(j),
		Session: b.sessionOf(j.agentID)})
}
