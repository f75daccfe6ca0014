package backend

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

func (b *Backend) handleClient(ev event) {
	c := b.clients[ev.sender]
	switch m := ev.msg.(type) {
	case *messages.ClientHello:
		if m.ProtocolVersion != messages.ProtocolVersion {
			b.toClient(ev.sender, messages.Errorf(messages.CodeProtocolVersion, "",
				"client speaks protocol %d, this backend speaks %d: upgrade the older side", m.ProtocolVersion, messages.ProtocolVersion))
			return
		}
		if c == nil {
			c = &client{id: ev.sender}
			b.clients[ev.sender] = c
		}
		c.name = m.Name
		c.lastSeen = b.now()
		b.toClient(c.id, &messages.BackendUpdateEnvironments{AvailableEnvironments: b.advertised})
		// A restarted frontend (same client id) collects what finished
		// while it was away; a reconnected one what it may have missed.
		b.resendResults(c.id)
		return
	case *messages.Ping:
		// The Session is echoed: the client tells by it which ping is
		// answered, and so which were lost (frontendclient's heartbeat).
		// Not an overlong one: a ping would have the backend queue and
		// send a copy of whatever it carries.
		tag := m.Session
		if len(tag) > messages.MaxIDLength {
			tag = ""
		}
		if c == nil {
			// We restarted, or never heard of it: it must say hello so it
			// learns the environments and resubmits what it waits for.
			b.toClient(ev.sender, &messages.Unknown{Session: tag})
			return
		}
		c.lastSeen = b.now()
		b.toClient(c.id, &messages.Pong{Session: tag})
		return
	}
	// Other requests are served without a hello: the reply subject is the
	// identity, and refusing them would only add a round trip after a
	// backend restart.
	if c == nil {
		c = &client{id: ev.sender, name: ev.sender}
		b.clients[ev.sender] = c
	}
	c.lastSeen = b.now()
	switch m := ev.msg.(type) {
	case *messages.ClientNewJob:
		b.newJob(c, ev.admin, m, ev.wire)
	case *messages.ClientKillJob:
		b.killJob(c, ev.admin, m)
	case *messages.ClientGetQueue:
		th := &b.queueThrottle
		if ev.admin {
			th = &b.adminQueueThrottle
		}
		if !th.Allow(c.id, ev.at) {
			// Counted, not logged: a flood would be a line each.
			b.stats.throttled.Add(1)
			// With the request's Ref, so that the client fails the call
			// at once rather than at its timeout.
			b.toClient(c.id, &messages.Error{Code: messages.CodeThrottled, Ref: m.Ref,
				Text: "queue: this client's snapshots took their share of the backend's time; ask again in a second"})
			return
		}
		start := time.Now()
		b.toClient(c.id, b.queueAnswer(c.id, ev.admin, m))
		th.Charge(c.id, time.Since(start), ev.at)
	case *messages.Ack:
		b.ackResult(c, m.JobID)
	}
}

func (b *Backend) newJob(c *client, admin bool, m *messages.ClientNewJob, wire []byte) {
	if err := validateJob(m); err != nil {
		b.toClient(c.id, messages.Errorf(messages.CodeBadRequest, m.JobID, "%v", err))
		return
	}
	if m.Frontend != "" && !admin {
		// A frontend is the identity the NATS server enforces: one that
		// named another frontend could take that one's course shares
		// and fill its caps. Only an admin vouches for frontends of its
		// own (the HTTP API for its tokens).
		b.stats.refused.Add(1)
		b.refusalLog.Warn("refused: a job naming a frontend from a client that is not an admin", "client", c.id, "job", m.JobID)
		b.toClient(c.id, messages.Errorf(messages.CodeBadRequest, m.JobID,
			"frontend %q: only an admin client may submit for a frontend; a frontend client's courses are its own without it", m.Frontend))
		return
	}
	if err := b.checkPriority(c.id, admin, m); err != nil {
		b.toClient(c.id, err)
		return
	}
	if b.jobs[m.JobID] != nil {
		b.toClient(c.id, messages.Errorf(messages.CodeDuplicateJob, m.JobID, "a job with id %s is already queued or running", m.JobID))
		return
	}
	if d := b.done[m.JobID]; d != nil {
		b.toClient(c.id, messages.Errorf(messages.CodeDuplicateJob, m.JobID, "a job with id %s has already finished", m.JobID))
		// The same client resubmitting after a reconnect missed the
		// result: send it again (the client library drops duplicates).
		if d.clientID == c.id {
			b.sendResult(c.id, m.JobID)
		}
		return
	}
	if f, ok := b.cfg.Journal.(Filling); ok && f.Full() {
		b.toClient(c.id, messages.Errorf(messages.CodeUnavailable, m.JobID,
			"the job journal is nearly full (backend.journal-max-bytes): new jobs are refused until queued ones have run; try again later"))
		return
	}
	if err := b.overCap(c, m); err != nil {
		b.toClient(c.id, err)
		return
	}
	if err := b.overSSHDebug(c.id, admin, m); err != nil {
		b.toClient(c.id, err)
		return
	}
	if t := (topic{m.EnvironmentType, m.Environment}); !m.WaitForEnvironment && b.graceOver() && !b.offered(t) {
		// Refused as the caller's mistake, before it is queued: it could
		// only end as crash, the operator's fault. During the grace
		// period agents may still be saying hello: the job waits then.
		b.toClient(c.id, messages.Errorf(messages.CodeBadRequest, m.JobID,
			"no agent offers the environment %s (offered: %s); check the task's environment, or set wait_for_environment to wait for one",
			t, b.offeredList()))
		return
	}
	b.seq++
	t := &JobQueued{Job: m, Wire: wire, ClientID: c.id, Seq: b.seq, At: b.now()}
	if err := b.commit(t); err != nil {
		b.toClient(c.id, messages.Errorf(messages.CodeUnavailable, m.JobID, "the backend cannot store the job now: %v", err))
		return
	}
	b.stats.submitted.Add(1)
	b.toClient(c.id, &messages.BackendJobQueued{JobID: m.JobID})
	if m.WaitForEnvironment || b.offered(topic{m.EnvironmentType, m.Environment}) {
		return
	}
	// Agents may still be saying hello: decide when the grace period ends.
	b.envChecks = append(b.envChecks, m.JobID)
}

// overCap refuses a job whose course, or whose user within its course,
// has as many jobs waiting as the caps allow. The course is the client's,
// and within an admin client its frontend's (shareKey): another frontend
// filling a course of the same name does not get this one's jobs refused.
func (b *Backend) overCap(c *client, m *messages.ClientNewJob) *messages.Error {
	k := (&job{head: HeadOf(m), owner: messages.CourseOwner(c.id, m.Frontend)}).leafKey().shareKey
	if max := b.cfg.MaxWaitingPerCourse; max > 0 && b.queues.waitingBy[k.courseKey()] >= max {
		return messages.Errorf(messages.CodeQueueFull, m.JobID,
			"course %q has %d jobs waiting, the most backend.max-waiting-per-course allows; submit again once some have run", k.course, max)
	}
	if max := b.cfg.MaxWaitingPerUser; max > 0 && b.queues.waitingBy[k] >= max {
		return messages.Errorf(messages.CodeQueueFull, m.JobID,
			"user %q of course %q has %d jobs waiting, the most backend.max-waiting-per-user allows; submit again once some have run", k.user, k.course, max)
	}
	return nil
}

func (b *Backend) graceOver() bool { return b.now().Sub(b.startedAt) >= b.cfg.EnvironmentGrace }

// checkEnvironments fails the jobs accepted during the grace period whose
// environment still has no agent once it is over.
func (b *Backend) checkEnvironments() {
	if len(b.envChecks) == 0 || !b.graceOver() {
		return
	}
	for _, id := range b.envChecks {
		if j := b.jobs[id]; j != nil && j.phase == phaseWaiting && !b.offered(j.topic()) {
			b.failUnoffered(j)
		}
	}
	b.envChecks = nil
}

func (b *Backend) failUnoffered(j *job) {
	b.finish(j, messages.NewJobResult(messages.StatusCrash,
		fmt.Sprintf("No agent offers the environment %s. Check the task's environment, or ask an administrator which environments exist.", j.topic()),
		b.previousState(j)))
}

// validateJob refuses what no agent could run, before it enters the queue.
func validateJob(m *messages.ClientNewJob) error {
	if err := messages.ValidateID(m.JobID); err != nil {
		return fmt.Errorf("job id: %w", err)
	}
	if m.EnvironmentType == "" || m.Environment == "" {
		return fmt.Errorf("environment_type and environment are required")
	}
	if m.Frontend != "" {
		if err := messages.ValidateID(m.Frontend); err != nil {
			return fmt.Errorf("frontend: %w", err)
		}
	}
	if !m.Debug.Valid() {
		return fmt.Errorf("debug must be \"\", \"debug\" or \"ssh\", not %q", m.Debug)
	}
	user, _ := m.InputData["@username"].(string)
	for _, f := range [...]struct{ name, v string }{
		{"course_id", m.CourseID}, {"task_id", m.TaskID}, {"environment_type", m.EnvironmentType},
		{"environment", m.Environment}, {"launcher", m.Launcher}, {"the @username input", user},
	} {
		if len(f.v) > messages.MaxNameLength {
			return fmt.Errorf("%s of %d bytes is longer than %d", f.name, len(f.v), messages.MaxNameLength)
		}
	}
	l := m.EnvironmentParameters.Limits
	// Arrays, not maps: every job passes here, and the first bad limit
	// named is always the same one.
	for _, f := range [...]struct {
		name string
		v    float64
	}{{"time", l.Time}, {"hard_time", l.HardTime}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("limit %s must be a positive number of seconds, not %v", f.name, f.v)
		}
	}
	for _, f := range [...]struct {
		name string
		v    int64
	}{{"memory", l.Memory}, {"processes", l.Processes}, {"output", l.Output}, {"disk", l.Disk}} {
		if f.v < 0 {
			return fmt.Errorf("limit %s cannot be negative (%d)", f.name, f.v)
		}
	}
	return nil
}

// killJob kills a job for its owner or an admin. Another frontend's job
// is answered as if it did not exist: a frontend learns nothing of other
// frontends' jobs.
func (b *Backend) killJob(c *client, admin bool, m *messages.ClientKillJob) {
	j := b.jobs[m.JobID]
	if j != nil && !admin && j.client() != c.id {
		b.stats.refused.Add(1)
		b.refusalLog.Warn("refused: a kill of another frontend's job", "client", c.id, "job", m.JobID)
		j = nil
	}
	if j == nil {
		text := "no such job"
		if d := b.done[m.JobID]; d != nil && (admin || d.clientID == c.id) {
			text = "the job has already finished"
		}
		b.toClient(c.id, messages.Errorf(messages.CodeUnknownJob, m.JobID, "%s", text))
		return
	}
	if j.phase == phaseWaiting {
		b.finish(j, messages.NewJobResult(messages.StatusKilled, "The job was killed before it started.", b.previousState(j)))
		return
	}
	// On an agent: it stops the attempt and answers with a killed result.
	// A second kill is sent again, in case the first was lost.
	if !j.killing {
		if err := b.commit(&JobKillRequested{JobID: j.id()}); err != nil {
			b.toClient(c.id, messages.Errorf(messages.CodeUnavailable, j.id(), "cannot record the kill now: %v", err))
			return
		}
	}
	b.killAttempt(j)
}

// offeredList names the environments offered now, for an error message.
func (b *Backend) offeredList() string {
	var names []string
	for typ, envs := range b.advertised {
		for _, e := range envs {
			names = append(names, typ+"/"+e)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	if len(names) > 20 {
		names = append(names[:20], "...")
	}
	return strings.Join(names, ", ")
}
