package backend

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

func (b *Backend) handleAgent(ev event) {
	a := b.agents[ev.sender]
	switch m := ev.msg.(type) {
	case *messages.AgentHello:
		if !b.helloThrottle.Allow(ev.sender, ev.at) {
			// Counted, not logged: a flood would be a line each.
			b.stats.throttled.Add(1)
			b.toAgent(ev.sender, &messages.Error{Code: messages.CodeThrottled,
				Text: "hello: this agent's hellos took their share of the backend's time; say hello again in a few seconds"})
			return
		}
		start := time.Now()
		b.agentHello(ev.sender, m)
		b.helloThrottle.Charge(ev.sender, time.Since(start), ev.at)
	case *messages.Ping:
		b.agentPing(a, ev, m)
	case *messages.AgentJobStarted:
		j := b.current(ev.sender, m.JobID, m.Attempt)
		if j == nil {
			return
		}
		b.heard(a, ev.at)
		if j.phase == phaseAssigned {
			if b.commit(&JobStarted{JobID: j.id(), Attempt: j.attempt}) != nil {
				return
			}
		}
		b.toClient(j.client(), &messages.BackendJobStarted{JobID: j.id(), Agent: b.agentName(ev.sender), Attempt: j.attempt})
	case *messages.AgentJobSSHDebug:
		if j := b.current(ev.sender, m.JobID, m.Attempt); j != nil {
			b.heard(a, ev.at)
			b.toClient(j.client(), &messages.BackendJobSSHDebug{JobID: j.id(), Host: m.Host, Port: m.Port, User: m.User, Password: m.Password})
		}
	case *messages.AgentJobDone:
		if d := b.done[m.JobID]; d != nil && d.agentID == ev.sender && d.attempt == m.Attempt {
			// The result of the attempt that finished the job, sent again
			// because our Ack was slow or lost: ack it again.
			b.stats.duplicateResults.Add(1)
			b.toAgent(ev.sender, &messages.Ack{JobID: m.JobID, Attempt: m.Attempt})
			return
		}
		j := b.current(ev.sender, m.JobID, m.Attempt)
		if j == nil {
			return
		}
		b.heard(a, ev.at)
		r := m.JobResult
		if !r.Result.Status.Valid() {
			r = messages.NewJobResult(messages.StatusCrash, fmt.Sprintf("The agent sent an invalid status %q.", r.Result.Status), b.previousState(j))
		}
		if math.IsNaN(r.Grade) || math.IsInf(r.Grade, 0) {
			r.Grade = r.Result.Status.DefaultGrade()
		}
		b.finish(j, r)
		// A slot freed: the agent may be the least busy again.
		b.agentIdx.refile(a)
		if b.jobs[j.id()] == nil { // committed: the agent may forget it
			b.toAgent(ev.sender, &messages.Ack{JobID: m.JobID, Attempt: m.Attempt})
		}
	case *messages.AgentJobRefused:
		j := b.current(ev.sender, m.JobID, m.Attempt)
		if j == nil {
			return
		}
		b.heard(a, ev.at)
		b.handBack(j, m.Reason)
		if cur := b.jobs[m.JobID]; cur == nil || cur.phase == phaseWaiting {
			// Re-queued or ended (not when the journal refused): the
			// agent may forget it.
			b.toAgent(ev.sender, &messages.Ack{JobID: m.JobID, Attempt: m.Attempt})
		}
	}
}

// current returns the job an agent message is about, if that attempt is
// the current one on that agent. Otherwise it refuses the message, and
// kills the attempt on the agent unless the job is simply finished.
func (b *Backend) current(agentID, jobID string, attempt int) *job {
	j := b.jobs[jobID]
	if j != nil && j.agentID == agentID && j.attempt == attempt && j.phase != phaseWaiting {
		return j
	}
	if j != nil && j.agentID != agentID && j.attempt == attempt && j.phase != phaseWaiting {
		// Not its attempt: a confused or forging agent. Nothing of the
		// job changes, and the owner is not told to kill anything.
		b.stats.refused.Add(1)
		b.refusalLog.Warn("refused: a message about an attempt given to another agent", "agent", agentID, "job", jobID, "attempt", attempt)
		b.toAgent(agentID, &messages.Error{Code: messages.CodeStaleAttempt, JobID: jobID, Attempt: attempt,
			Text: fmt.Sprintf("attempt %d of job %s is not yours", attempt, jobID)})
		return nil
	}
	b.stats.staleAttempts.Add(1)
	why := "the job has finished"
	switch {
	case j == nil && b.done[jobID] == nil:
		why = "no such job"
	case j != nil && j.phase == phaseWaiting:
		// Its attempt was taken back (its agent lost, or restarted)
		// and the next one is not sent yet: "now at attempt N" with the
		// same N read as a contradiction.
		why = fmt.Sprintf("the job was taken back after attempt %d and waits to be sent again", j.attempt)
	case j != nil:
		why = fmt.Sprintf("the job is now at attempt %d", j.attempt)
	}
	b.refusalLog.Warn("refused a message about an attempt that is not current", "agent", agentID, "job", jobID, "attempt", attempt, "why", why)
	b.toAgent(agentID, &messages.Error{Code: messages.CodeStaleAttempt, JobID: jobID, Attempt: attempt,
		Text: fmt.Sprintf("attempt %d is not current: %s", attempt, why)})
	b.toAgent(agentID, &messages.BackendKillJob{JobID: jobID, Attempt: attempt})
	return nil
}

func (b *Backend) agentName(id string) string {
	if a := b.agents[id]; a != nil {
		return a.name
	}
	return id
}

// drained says whether a registered agent process is stopping and holds
// nothing: it said hello with no slots (an agent has at least one until it
// stops) and has no attempt left. A new process of its id, the restart that
// follows a graceful stop, may take its place at once rather than after
// the heartbeat timeout, which kept the id's slots idle that long.
func drained(a *agent) bool {
	return a.slots == 0 && len(a.running) == 0
}

func (b *Backend) agentHello(id string, m *messages.AgentHello) {
	if m.ProtocolVersion != messages.ProtocolVersion {
		b.toAgent(id, messages.Errorf(messages.CodeProtocolVersion, "",
			"agent speaks protocol %d, this backend speaks %d: upgrade the older side", m.ProtocolVersion, messages.ProtocolVersion))
		return
	}
	if m.AvailableJobSlots < 0 || m.Session == "" {
		b.toAgent(id, messages.Errorf(messages.CodeBadRequest, "", "a hello needs a session and a slot count of 0 or more"))
		return
	}
	if len(m.FriendlyName) > messages.MaxNameLength || len(m.Session) > messages.MaxIDLength {
		// Its name goes into every queue snapshot, to every client, and
		// into the texts of its jobs' results: an agent named with 8 MB
		// made every snapshot too big to send, for every client.
		b.stats.refused.Add(1)
		b.refusalLog.Warn("refused: an agent's hello with a name or session out of bounds", "agent", id, "name_bytes", len(m.FriendlyName), "session_bytes", len(m.Session))
		b.toAgent(id, messages.Errorf(messages.CodeBadRequest, "", "hello: a friendly name of %d bytes at most and a session of %d at most",
			messages.MaxNameLength, messages.MaxIDLength))
		return
	}
	if err := messages.CheckEnvironments(m.AvailableEnvironments); err != nil {
		b.stats.refused.Add(1)
		b.refusalLog.Warn("refused: an agent's hello offers environments out of bounds", "agent", id, "err", err)
		b.toAgent(id, messages.Errorf(messages.CodeBadRequest, "", "hello: %v", err))
		return
	}
	old := b.agents[id]
	restored := map[string]bool{}
	if old != nil && old.session != m.Session {
		if b.live(old) && !drained(old) {
			// Two processes with one id: the one that has the jobs stays.
			b.refuseConflict(old, m)
			return
		}
		if b.live(old) {
			// Its predecessor stopped gracefully, having handed back
			// every job: a routine restart, nothing lost.
			b.log.Info("agent restarted after a graceful stop: the new process takes its place", "agent", old.id, "name", old.name)
			b.dropAgent(old)
		} else {
			// The agent process restarted: whatever the old one ran is gone.
			b.loseAgent(old, "the agent restarted")
		}
		old = nil
	}
	a := old
	// A hello again, of the same session with the same offer (each ping
	// answered Unknown after a restart asks for one), is no news.
	again := old != nil && old.slots == m.AvailableJobSlots && old.name == cmp.Or(m.FriendlyName, id) &&
		reflect.DeepEqual(old.envs, m.AvailableEnvironments)
	if a == nil {
		// The agent's numbering of BackendNewJob continues where its
		// session is, so that reconcile compares like with like.
		a = &agent{id: id, session: m.Session, since: b.now(), running: make(map[string]*job), nextSeq: m.LastJobSeq}
		b.agents[id] = a
		// Jobs assigned to this agent in a previous registration (it was
		// dropped for silence and is back in the same session) are re-linked
		// only if it still reports them; the others were re-queued already.
		// Jobs replayed from the journal as on this agent are linked here,
		// and kept only if it reports them (restored, in reconcile).
		for jid := range b.unclaimed {
			if j := b.jobs[jid]; j != nil && j.agentID == id && j.phase != phaseWaiting {
				if _, ok := a.running[jid]; !ok {
					a.running[jid] = j
					a.took(j)
				}
				restored[jid] = true
				delete(b.unclaimed, jid)
			}
		}
	}
	a.name = m.FriendlyName
	if a.name == "" {
		a.name = id
	}
	a.slots = m.AvailableJobSlots
	wasEnvs := a.envs
	a.envs = m.AvailableEnvironments
	a.topics, a.hasInstant = a.topics[:0], false
	for typ, names := range m.AvailableEnvironments {
		for name := range names {
			a.topics = append(a.topics, topic{typ, name})
			a.hasInstant = a.hasInstant || messages.Instant(typ)
		}
	}
	a.lastSeen = b.now()
	b.reconcile(a, m, restored)
	b.agentIdx.refile(a) // its slots, environments and jobs may all be new
	b.toAgent(id, &messages.Ack{Session: m.Session})
	if b.agentIdx.advertise(wasEnvs, a.envs) {
		b.updateEnvironments()
	}
	switch {
	case again:
		b.log.Debug("agent said hello again", "agent", id, "running", len(m.RunningJobs))
	case old != nil:
		b.log.Info("agent offer changed", "agent", id, "name", a.name, "slots", a.slots, "environments", len(a.topics), "running", len(m.RunningJobs))
	default:
		b.log.Info("agent registered", "agent", id, "name", a.name, "slots", a.slots, "environments", len(a.topics), "running", len(m.RunningJobs))
	}
}

// reconcile compares what an agent says it runs with what we assigned.
// restored jobs were replayed from the journal: sent by a previous backend,
// so one the agent does not report is lost whatever its seq says.
func (b *Backend) reconcile(a *agent, m *messages.AgentHello, restored map[string]bool) {
	reported := make(map[string]int, len(m.RunningJobs))
	for _, r := range m.RunningJobs {
		reported[r.JobID] = r.Attempt
	}
	for id, j := range a.running {
		if att, ok := reported[id]; ok && att == j.attempt {
			if j.phase == phaseAssigned {
				// It runs there: the start timeout no longer applies.
				_ = b.commit(&JobStarted{JobID: id, Attempt: att})
			}
			continue
		}
		// Sent before the last one the agent saw, yet unknown to it: lost.
		// Sent after: still in flight; the start timeout covers a loss.
		if restored[id] || j.agentSeq <= m.LastJobSeq {
			b.loseAttempt(j, "the agent no longer knew the job")
		}
	}
	for id, att := range reported {
		j := b.jobs[id]
		switch {
		case j != nil && j.phase != phaseWaiting && j.agentID == a.id && j.attempt == att:
		case j != nil && j.phase == phaseWaiting && j.agentID == a.id && j.attempt == att && b.done[id] == nil && a.freeFor(j.topic()) > 0:
			// Assigned to this agent before it was dropped for silence, and
			// still running there: take it back rather than run it twice.
			// Only that agent: another one naming a waiting job (attempt 0
			// if it was never assigned) would get it, and its result.
			b.dispatchSeq++
			if b.commit(&JobAssigned{JobID: id, AgentID: a.id, Attempt: att, AgentSeq: j.agentSeq,
				DispatchSeq: b.dispatchSeq, At: b.now()}) == nil {
				_ = b.commit(&JobStarted{JobID: id, Attempt: att})
			}
		default:
			b.toAgent(a.id, &messages.BackendKillJob{JobID: id, Attempt: att, Session: a.session})
		}
	}
}

// tick runs the timers: agent liveness, start timeouts, old results.
func (b *Backend) tick() {
	now := b.now()
	if !b.connected(now) {
		return
	}
	silence := b.cfg.HeartbeatInterval * timeDuration(b.cfg.HeartbeatMisses)
	for _, a := range b.agents {
		if now.Sub(a.lastSeen) > silence {
			b.loseAgent(a, fmt.Sprintf("no heartbeat for %v", now.Sub(a.lastSeen).Round(1e8)))
			continue
		}
		for _, j := range a.running {
			if j.phase == phaseAssigned && now.Sub(j.assignedAt.time()) > b.cfg.StartTimeout {
				b.killAttempt(j)
				b.loseAttempt(j, "the agent did not confirm the job in time")
			}
		}
	}
	b.reclaim(now)
	b.checkEnvironments()
	b.failOrphans()
	b.forgetDone()
	b.tickResults()
	b.tickHistory()
	b.forgetClients()
}

// connected says whether the backend can judge its peers. While its own
// NATS connection is down, every peer looks silent: nobody is declared
// lost then, and after a reconnect each gets a fresh heartbeat budget and
// start timeout, so a NATS restart re-queues nothing.
func (b *Backend) connected(now time.Time) bool {
	if !b.nc.IsConnected() {
		if b.offlineSince.IsZero() {
			b.offlineSince = now
			b.log.Warn("NATS connection lost; agents and clients are not timed out until it is back")
		}
		return false
	}
	if b.offlineSince.IsZero() {
		return true
	}
	b.log.Info("NATS connection back", "after", now.Sub(b.offlineSince).Round(time.Millisecond))
	b.offlineSince = time.Time{}
	for _, a := range b.agents {
		a.lastSeen = now
		for _, j := range a.running {
			if j.phase == phaseAssigned {
				j.assignedAt = stampOf(now)
			}
		}
	}
	for _, c := range b.clients {
		c.lastSeen = now
	}
	return true
}

// reclaim takes back, StartTimeout after the start, the jobs replayed as on
// an agent that has not said hello since: that agent is gone (or restarted
// and forgot them), so they are re-queued under the attempt rules.
func (b *Backend) reclaim(now time.Time) {
	if len(b.unclaimed) == 0 || now.Sub(b.startedAt) <= b.cfg.StartTimeout {
		return
	}
	for id := range b.unclaimed {
		if j := b.jobs[id]; j != nil && j.phase != phaseWaiting && b.agents[j.agentID] == nil {
			b.loseAttempt(j, "its agent did not come back after the backend restarted")
			if b.jobs[id] != nil && b.jobs[id].phase != phaseWaiting {
				continue // the journal refused: try again at the next tick
			}
		}
		delete(b.unclaimed, id)
	}
}

// forgetClients drops clients silent for ClientTimeout that wait for no
// job: their results would go nowhere and they would still get every
// environment update.
func (b *Backend) forgetClients() {
	cut := b.now().Add(-b.cfg.ClientTimeout)
	var busy map[string]bool
	for id, c := range b.clients {
		if c.lastSeen.After(cut) {
			continue
		}
		if busy == nil {
			busy = make(map[string]bool)
			for _, j := range b.jobs {
				busy[j.client()] = true
			}
		}
		if !busy[id] {
			delete(b.clients, id)
		}
	}
}

// loseAgent drops an agent and takes its jobs back.
func (b *Backend) loseAgent(a *agent, why string) {
	b.stats.agentsLost.Add(1)
	b.log.Warn("agent lost", "agent", a.id, "name", a.name, "why", why, "jobs", len(a.running))
	for id, j := range a.running {
		b.loseAttempt(j, fmt.Sprintf("the agent %s was lost (%s)", a.name, why))
		if j := b.jobs[id]; j != nil && j.phase != phaseWaiting && j.agentID == a.id {
			// The journal refused the requeue: reclaim tries again at every
			// tick, unless the agent comes back with the job first.
			b.unclaimed[id] = true
		}
	}
	b.dropAgent(a)
}

// dropAgent forgets a registered agent process and what it offered.
func (b *Backend) dropAgent(a *agent) {
	delete(b.agents, a.id)
	b.agentIdx.forget(a)
	if b.agentIdx.advertise(a.envs, nil) {
		b.updateEnvironments()
	}
}

// loseAttempt re-queues a job whose attempt is gone, or ends it.
func (b *Backend) loseAttempt(j *job, why string) {
	b.requeue(j, why, fmt.Sprintf("The job could not be graded: %s during attempt %d of %d. Please submit again.", why, j.attempt, b.cfg.MaxAttempts))
}

// handBack re-queues a job whose agent did not run its attempt (it could
// not take it: busy, stopping, without its environment, task files or
// memory), so that a platform hiccup is not the student's crash; or ends
// it with the agent's reason when that was its last attempt.
func (b *Backend) handBack(j *job, reason string) {
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "") + "…"
	}
	if !strings.HasSuffix(reason, ".") {
		reason += "."
	}
	name := b.agentName(j.agentID)
	b.requeue(j, fmt.Sprintf("the agent %s could not take it: %s", name, reason),
		fmt.Sprintf("The job could not be graded (attempt %d of %d, agent %s): %s Please submit again.", j.attempt, b.cfg.MaxAttempts, name, reason))
}

// maxReason bounds the text an agent gives for a refusal in a result.
const maxReason = 1000

// requeue puts a job whose attempt ended without a result back in its
// queue, or, after its last attempt, ends it as crash with the text final.
func (b *Backend) requeue(j *job, why, final string) {
	// Whichever way the job goes, its agent may have a slot free.
	defer b.agentIdx.refile(b.agents[j.agentID])
	switch {
	case j.killing:
		b.finish(j, messages.NewJobResult(messages.StatusKilled, "The job was killed.", b.previousState(j)))
	case j.attempt >= b.cfg.MaxAttempts:
		b.finish(j, messages.NewJobResult(messages.StatusCrash, final, b.previousState(j)))
	default:
		if b.commit(&JobRequeued{JobID: j.id(), Attempt: j.attempt, Reason: why}) == nil {
			b.stats.requeued.Add(1)
			b.log.Info("job re-queued", "job", j.id(), "attempt", j.attempt, "why", why)
		}
	}
}
