package backend

import (
	"cmp"
	"container/heap"
	"fmt"
	"slices"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// snapshot is the queue as an admin sees it: running jobs in dispatch
// order, waiting jobs in the order they would be dispatched if every agent
// offered every environment, each with its position in its own queue and
// why it waits. A frontend (not admin) sees its own jobs only; their
// positions still count everybody's, and those not among the first
// SnapshotJobs of the whole queue follow by arrival with position 0. Each
// list holds at most Config.SnapshotJobs jobs, the first ones; the summary
// counts them all.
//
// Cost: one pass over the jobs for the counts and the running list, then
// SnapshotJobs simulated choices (dispatchOrder), each a scan of the
// queue's leaves, on a copy of the fair share's counts.
func (b *Backend) snapshot(forClient string, admin bool) *messages.BackendGetQueue {
	limit := b.cfg.SnapshotJobs
	out := &messages.BackendGetQueue{JobsRunning: []messages.QueueRunningJob{}, JobsWaiting: []messages.QueueWaitingJob{}, Agents: b.agentList()}
	sum := &messages.QueueSummary{Counts: []messages.QueueCount{}}
	out.Summary = sum
	counts := map[[3]string]*messages.QueueCount{}
	var running, mine []*job
	for _, j := range b.jobs {
		if !admin && j.clientID != forClient {
			continue
		}
		key := [3]string{j.head.EnvironmentType, j.head.Environment, j.head.CourseID}
		c := counts[key]
		if c == nil {
			c = &messages.QueueCount{EnvironmentType: key[0], Environment: key[1], CourseID: key[2]}
			counts[key] = c
		}
		if j.phase == phaseWaiting {
			c.Waiting++
			sum.Waiting++
			if !admin {
				mine = append(mine, j)
			}
		} else {
			c.Running++
			sum.Running++
			running = append(running, j)
		}
	}
	for _, c := range counts {
		sum.Counts = append(sum.Counts, *c)
	}
	slices.SortFunc(sum.Counts, func(x, y messages.QueueCount) int {
		return cmp.Or(cmp.Compare(x.EnvironmentType, y.EnvironmentType), cmp.Compare(x.Environment, y.Environment), cmp.Compare(x.CourseID, y.CourseID))
	})

	slices.SortFunc(running, func(x, y *job) int { return cmp.Compare(x.dispatchSeq, y.dispatchSeq) })
	if len(running) > limit {
		running, sum.Truncated = running[:limit], true
	}
	for _, j := range running {
		out.JobsRunning = append(out.JobsRunning, messages.QueueRunningJob{
			JobID: j.id(), IsMine: j.clientID == forClient, Agent: b.agentName(j.agentID), AgentID: j.agentID,
			Info: j.head.Info(), Launcher: j.head.Launcher, StartedAt: j.assignedAt.UnixMilli(), MaxTime: j.maxTime(),
			Attempt: j.attempt, EnvironmentType: j.head.EnvironmentType, Environment: j.head.Environment, Killing: j.killing,
		})
	}

	// The dispatch order, simulated for the first limit jobs of the
	// whole queue: an admin's list; a frontend's jobs among them, then
	// its later ones by arrival with position 0 (too deep to place: each
	// simulated step scans the queue's leaves).
	steps := limit
	var waiting []ranked
	placed := map[*job]bool{}
	for _, w := range b.dispatchOrder(steps) {
		if admin || w.job.clientID == forClient {
			waiting = append(waiting, w)
			placed[w.job] = true
		}
	}
	if !admin {
		var deep []*job
		for _, j := range mine {
			if !placed[j] {
				deep = append(deep, j)
			}
		}
		slices.SortFunc(deep, func(x, y *job) int { return cmp.Compare(x.seq, y.seq) })
		for _, j := range deep {
			waiting = append(waiting, ranked{job: j})
		}
	}
	if len(waiting) > limit || (admin && len(waiting) < sum.Waiting) {
		sum.Truncated = true
	}
	if len(waiting) > limit {
		waiting = waiting[:limit]
	}
	bestPrio := map[topic]int{}
	for t, q := range b.queues.byTopic {
		first := true
		for k := range q.leaves {
			if first || k.priority < bestPrio[t] {
				bestPrio[t], first = k.priority, false
			}
		}
	}
	// One pass over the agents for every listed job: which environments
	// are offered, and with how many slots.
	offered, slots := map[topic]bool{}, map[topic]int{}
	for _, a := range b.agents {
		for _, t := range a.topics {
			offered[t] = true
			slots[t] += a.slots
		}
	}
	now := b.now()
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
		out.JobsWaiting = append(out.JobsWaiting, messages.QueueWaitingJob{
			JobID: j.id(), IsMine: j.clientID == forClient, Info: j.head.Info(), Launcher: j.head.Launcher,
			MaxTime: j.maxTime(), Priority: j.head.Priority, QueuedAt: j.queuedAt.UnixMilli(),
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

// dispatchOrder is the first n waiting jobs in the order they would be
// dispatched if every agent offered every environment and no job
// finished meanwhile: the fair share's choice (queues.best), repeated on a
// copy of its counts, each pick holding a slot. The copy's queues hold a
// view of each leaf, whose head advances through a frontier over the
// leaf's heap, so the real queues stay as they are. O(n × (courses +
// users picked) + leaves).
func (b *Backend) dispatchOrder(n int) []ranked {
	f := b.share.clone()
	now := b.now()
	f.now = func() time.Time { return now } // no time passes in it
	sim := newQueues(&f)
	fronts := map[*leaf]*frontier{}
	var topics []topic
	for t, q := range b.queues.byTopic {
		topics = append(topics, t)
		sq := sim.get(t)
		for k, l := range q.leaves {
			front := &frontier{l: l}
			front.children(-1) // the root
			v := newLeaf(k)    // a view: its one item is never indexed
			v.jobs.items = []*job{l.jobs.items[heap.Pop(front).(int)]}
			front.children(0)
			fronts[v] = front
			sq.leaves[k] = v
			sim.addLeaf(sq, v)
		}
	}
	pos := map[topic]int{}
	latest := map[leafKey]uint64{} // per topic and priority (course, user ""), the latest arrival picked
	var out []ranked
	for len(out) < n {
		v := sim.best(topics, &f)
		if v == nil {
			break
		}
		j := v.head()
		t := j.topic()
		pos[t]++
		lk := leafKey{priority: j.head.Priority, shareKey: shareKey{course: t.String()}}
		out = append(out, ranked{j, pos[t], latest[lk] > j.seq})
		latest[lk] = max(latest[lk], j.seq)
		if front := fronts[v]; front.Len() == 0 {
			sim.dropLeaf(sim.byTopic[t], v)
		} else {
			i := heap.Pop(front).(int)
			front.children(i)
			v.jobs.items[0] = front.l.jobs.items[i]
			if v.idx >= 0 {
				heap.Fix(&v.cq.idle, v.idx)
			}
		}
		f.add(j, 1)
		sim.userChanged(v.key.shareKey)
	}
	return out
}

// frontier orders heap indices of a leaf by their jobs: popping it walks
// the leaf in order without changing it.
type frontier struct {
	l   *leaf
	idx []int
}

// children adds the heap children of index i (-1: the root).
func (f *frontier) children(i int) {
	if i < 0 {
		heap.Push(f, 0)
		return
	}
	for _, c := range []int{2*i + 1, 2*i + 2} {
		if c < f.l.jobs.Len() {
			heap.Push(f, c)
		}
	}
}

func (f *frontier) Len() int { return len(f.idx) }
func (f *frontier) Less(a, b int) bool {
	return f.l.jobs.items[f.idx[a]].before(f.l.jobs.items[f.idx[b]])
}
func (f *frontier) Swap(a, b int) { f.idx[a], f.idx[b] = f.idx[b], f.idx[a] }
func (f *frontier) Push(x any)    { f.idx = append(f.idx, x.(int)) }
func (f *frontier) Pop() any {
	last := f.idx[len(f.idx)-1]
	f.idx = f.idx[:len(f.idx)-1]
	return last
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
			Running: len(a.running), Environments: envs, LastSeen: a.lastSeen.UnixMilli()})
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

// estimateStart is when the pos-th job of topic t, whose agents have
// slots, should start: its slots turn over once per run time, and the jobs
// on them now are half done on average. 0 when no slot serves t or no job
// of t has finished yet.
func (b *Backend) estimateStart(t topic, slots, pos int, now time.Time) int64 {
	run := b.runTimes[t]
	if run <= 0 || slots <= 0 || pos <= 0 {
		return 0
	}
	rounds := (pos - 1) / slots // full turns of the slots before its own
	return now.Add(time.Duration(rounds)*run + run/2).UnixMilli()
}
