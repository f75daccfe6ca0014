package backend

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// queueAnswer answers a ClientGetQueue: the snapshot of before for an
// empty request (INGInious'), the head of each queue, or a page
// (paging.go). Each costs O(the jobs it lists × (courses + log n) + the
// running jobs + buckets), whatever the number of waiting jobs: the counts
// and the arrival order are kept up to date (queueindex.go), and the
// dispatch order is played forward lazily (queuesim.go).
func (b *Backend) queueAnswer(forClient string, admin bool, req *messages.ClientGetQueue) messages.Message {
	if err := req.Validate(); err != nil {
		return messages.Errorf(messages.CodeBadRequest, "", "queue: %v", err)
	}
	var out *messages.BackendGetQueue
	switch {
	case req.Limit > 0:
		out = b.page(forClient, admin, req)
	case req.PerQueue > 0:
		out = b.queueHeads(forClient, admin, req.PerQueue)
	default:
		out = b.snapshot(forClient, admin)
	}
	out.Ref = req.Ref
	return out
}

// snapshot is the queue as an admin sees it: running jobs in dispatch
// order, waiting jobs in the order they would be dispatched if every agent
// offered every environment, each with its position in its own queue and
// why it waits. A frontend (not admin) sees its own jobs only; their
// positions still count everybody's, and those not among the first
// SnapshotJobs of the whole queue follow by arrival with position 0. Each
// list holds at most Config.SnapshotJobs jobs, the first ones; the summary
// counts them all.
func (b *Backend) snapshot(forClient string, admin bool) *messages.BackendGetQueue {
	limit := b.cfg.SnapshotJobs
	v := view{client: forClient, admin: admin}
	out, sum := b.withRunning(v, limit)
	var waiting []ranked
	placed := map[*job]bool{}
	for _, w := range b.dispatchOrder(limit, b.queues.sortedTopics()) {
		if admin || w.job.client() == forClient {
			waiting = append(waiting, w)
			placed[w.job] = true
		}
	}
	if !admin {
		// Its jobs too deep to place (each simulated pick costs), by arrival.
		for _, j := range b.byArrival(v, limit-len(waiting), placed) {
			waiting = append(waiting, ranked{job: j})
		}
	}
	if len(waiting) < sum.Waiting {
		sum.Truncated = true
	}
	out.JobsWaiting = b.waitingList(waiting, forClient)
	return out
}

// queueHeads is the head of each queue: per environment, the first n waiting
// jobs in the order its agents would take them (each queue played forward
// on its own), with the running jobs and the counts. A frontend sees its
// own jobs among the first SnapshotJobs of each queue, then by arrival.
func (b *Backend) queueHeads(forClient string, admin bool, n int) *messages.BackendGetQueue {
	v := view{client: forClient, admin: admin}
	out, sum := b.withRunning(v, b.cfg.SnapshotJobs)
	var waiting []ranked
	for _, t := range b.queues.sortedTopics() {
		steps, mine := n, 0
		if !admin {
			steps = max(n, b.cfg.SnapshotJobs)
		}
		placed := map[*job]bool{}
		for _, w := range b.dispatchOrder(steps, []topic{t}) {
			if mine < n && (admin || w.job.client() == forClient) {
				waiting = append(waiting, w)
				placed[w.job] = true
				mine++
			}
		}
		if !admin && mine < n {
			tv := v
			tv.envType, tv.env = t.envType, t.env
			for _, j := range b.byArrival(tv, n-mine, placed) {
				waiting = append(waiting, ranked{job: j})
			}
		}
	}
	if len(waiting) < sum.Waiting {
		sum.Truncated = true
	}
	out.JobsWaiting = b.waitingList(waiting, forClient)
	return out
}

// withRunning starts an answer: the agents, the counts of what v sees,
// and its first limit running jobs.
func (b *Backend) withRunning(v view, limit int) (*messages.BackendGetQueue, *messages.QueueSummary) {
	sum := b.queues.index.summary(v)
	out := &messages.BackendGetQueue{JobsWaiting: []messages.QueueWaitingJob{}, Agents: b.agentList(), Summary: sum}
	running := b.queues.index.runningJobs(v)
	if len(running) > limit {
		running, sum.Truncated = running[:limit], true
	}
	out.JobsRunning = b.runningList(running, v.client)
	return out, sum
}

func (b *Backend) runningList(running []*job, forClient string) []messages.QueueRunningJob {
	out := make([]messages.QueueRunningJob, 0, len(running))
	for _, j := range running {
		out = append(out, messages.QueueRunningJob{
			JobID: j.id(), IsMine: j.client() == forClient, Agent: b.agentName(j.agentID), AgentID: j.agentID,
			Info: j.head.Info(), Launcher: j.head.Launcher, StartedAt: j.assignedAt.time().UnixMilli(), MaxTime: j.maxTime(),
			Attempt: j.attempt, EnvironmentType: j.head.EnvironmentType, Environment: j.head.Environment, Killing: j.killing,
		})
	}
	return out
}

// waitingList describes waiting jobs, with why each waits and, for those
// placed (pos > 0), when it should start.
func (b *Backend) waitingList(waiting []ranked, forClient string) []messages.QueueWaitingJob {
	// One pass over the agents for every listed job: which environments
	// are offered, and with how many slots.
	offered, slots := map[topic]bool{}, b.effectiveSlots()
	for _, a := range b.agents {
		for _, t := range a.topics {
			offered[t] = true
		}
	}
	bestPrio := map[topic]int{}
	for t, q := range b.queues.byTopic {
		first := true
		for p := range q.levels {
			if first || p < bestPrio[t] {
				bestPrio[t], first = p, false
			}
		}
	}
	now := b.now()
	out := make([]messages.QueueWaitingJob, 0, len(waiting))
	for _, w := range waiting {
		j := w.job
		t := j.topic()
		reason := messages.WaitQueued
		switch {
		case !offered[t]:
			reason = messages.WaitNoAgent
		case w.pos == 1:
			reason = messages.WaitSlotsBusy
		case bestPrio[t] < j.head.Priority:
			reason = messages.WaitLowerPriority
		case w.passed:
			reason = messages.WaitFairShare
		}
		out = append(out, messages.QueueWaitingJob{
			JobID: j.id(), IsMine: j.client() == forClient, Info: j.head.Info(), Launcher: j.head.Launcher,
			MaxTime: j.maxTime(), Priority: j.head.Priority, QueuedAt: j.queuedAt.time().UnixMilli(),
			EnvironmentType: j.head.EnvironmentType, Environment: j.head.Environment,
			Position: w.pos, Reason: reason, Attempt: j.attempt, EstimatedStart: b.estimateStart(t, slots[t], w.pos, now),
		})
	}
	return out
}

// ranked is a waiting job with its position in its own queue (0: not
// placed).
type ranked struct {
	job *job
	pos int
	// passed: a job of its priority that arrived later goes before it.
	passed bool
}

// dispatchOrder is the first n waiting jobs of the given topics in the
// order they would be dispatched if every agent offered all of them and no
// job finished meanwhile: the fair share's choice, played forward
// (dispatchSim) without changing the queues.
func (b *Backend) dispatchOrder(n int, topics []topic) []ranked {
	s := b.newDispatchSim()
	pos := map[topic]int{}
	latest := map[leafKey]uint64{} // per topic and priority (course, user ""), the latest arrival picked
	var out []ranked
	for len(out) < n {
		l := s.best(topics)
		if l == nil {
			break
		}
		j := s.pick(l)
		t := j.topic()
		pos[t]++
		lk := leafKey{priority: j.head.Priority, shareKey: shareKey{course: t.String()}}
		out = append(out, ranked{job: j, pos: pos[t], passed: latest[lk] > j.seq})
		latest[lk] = max(latest[lk], j.seq)
	}
	return out
}

// agentList is the registered agents, by name then id.
func (b *Backend) agentList() []messages.QueueAgent {
	out := []messages.QueueAgent{}
	for _, a := range b.agents {
		envs := make([]string, 0, len(a.topics))
		for _, t := range a.topics {
			envs = append(envs, fmt.Sprint(t))
		}
		slices.Sort(envs)
		out = append(out, messages.QueueAgent{AgentID: a.id, Name: a.name, Slots: a.slots,
			Running: a.busy(), Environments: envs, LastSeen: a.lastSeen.UnixMilli()})
	}
	slices.SortFunc(out, func(x, y messages.QueueAgent) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.AgentID, y.AgentID))
	})
	return out
}

// learnRunTime follows the run time of an environment's jobs (a moving
// average), for start estimates.
func (b *Backend) learnRunTime(t topic, d time.Duration) {
	if d <= 0 {
		return
	}
	if old, ok := b.runTimes[t]; ok {
		d = (4*old + d) / 5
	}
	b.runTimes[t] = d
}

// estimateStart is when the pos-th job of topic t, whose agents give it
// slots (effectiveSlots), should start: its slots turn over once per run
// time, and the jobs on them now are half done on average. 0 when no slot
// serves t or no job of t has finished yet.
func (b *Backend) estimateStart(t topic, slots float64, pos int, now time.Time) int64 {
	run := b.runTimes[t]
	if run <= 0 || slots <= 0 || pos <= 0 {
		return 0
	}
	// Full turns of the slots before its own; the epsilon keeps an
	// agent's whole slots whole through the division of effectiveSlots.
	rounds := math.Floor(float64(pos-1)/slots + 1e-9)
	return now.Add(time.Duration(rounds)*run + run/2).UnixMilli()
}

// effectiveSlots is, per topic, the slots its agents give it: an agent's
// slots are shared by the topics it offers that have waiting jobs, in
// proportion to their waiting work (jobs × recent run time), as its slots
// take the jobs of all its queues in turn. Counting every slot of an agent
// for each of its queues told a deadline's jobs they would start in half
// the time when two environments shared one agent. A topic with no
// waiting job (or no agent) has none; a topic whose run time is not known
// yet counts the mean of those known.
func (b *Backend) effectiveSlots() map[topic]float64 {
	var known time.Duration
	n := 0
	for t, d := range b.runTimes {
		if !messages.Instant(t.envType) { // a quiz's microseconds say nothing of a program's time
			known += d
			n++
		}
	}
	mean := time.Second
	if n > 0 {
		mean = known / time.Duration(n)
	}
	work := func(t topic) float64 {
		q := b.queues.byTopic[t]
		if q == nil || q.Len() == 0 {
			return 0
		}
		run, ok := b.runTimes[t]
		if !ok || run <= 0 {
			run = mean
		}
		return float64(q.Len()) * run.Seconds()
	}
	out := map[topic]float64{}
	for _, a := range b.agents {
		total := 0.0
		for _, t := range a.topics {
			if messages.Instant(t.envType) {
				// Slots of their own, beside the agent's.
				if a.slots > 0 && work(t) > 0 {
					out[t] += messages.InstantSlots
				}
				continue
			}
			total += work(t)
		}
		if total <= 0 {
			continue
		}
		for _, t := range a.topics {
			if w := work(t); w > 0 && !messages.Instant(t.envType) {
				out[t] += float64(a.slots) * w / total
			}
		}
	}
	return out
}
