package backend

import (
	"cmp"
	"container/heap"
	"fmt"
	"slices"

	"github.com/ingo-grader/ingo/messages"
)

// snapshot is the queue as an admin sees it: running jobs in dispatch
// order, waiting jobs in the order they would be dispatched if every agent
// offered every environment, each with its position in its own queue and
// why it waits. A frontend (not admin) sees its own jobs only; their
// positions still count everybody's. Each list holds at most
// Config.SnapshotJobs jobs, the first ones; the summary counts them all.
//
// Cost: one pass over the jobs for the counts and the running list, then,
// for an admin, the first SnapshotJobs of each environment's heap (a
// frontier heap, O(k log k) each), merged; a frontend's snapshot walks its
// waiting jobs and ranks each in its heap.
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
		key := [3]string{j.msg.EnvironmentType, j.msg.Environment, j.msg.CourseID}
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
			Info: j.msg.Info(), Launcher: j.msg.Launcher, StartedAt: j.assignedAt.UnixMilli(), MaxTime: j.maxTime(),
			Attempt: j.attempt, EnvironmentType: j.msg.EnvironmentType, Environment: j.msg.Environment, Killing: j.killing,
		})
	}

	var waiting []ranked
	if admin {
		for _, q := range b.queues.byTopic {
			for i, j := range q.first(limit) {
				waiting = append(waiting, ranked{j, i + 1})
			}
		}
	} else {
		slices.SortFunc(mine, func(x, y *job) int {
			if x.before(y) {
				return -1
			}
			return 1
		})
		if len(mine) > limit {
			mine, sum.Truncated = mine[:limit], true
		}
		byTopic := map[topic][]*job{}
		for _, j := range mine {
			byTopic[j.topic()] = append(byTopic[j.topic()], j)
		}
		for t, js := range byTopic {
			for i, pos := range b.queues.get(t).ranks(js) {
				waiting = append(waiting, ranked{js[i], pos})
			}
		}
	}
	slices.SortFunc(waiting, func(x, y ranked) int {
		if x.job.before(y.job) {
			return -1
		}
		return 1
	})
	if len(waiting) > limit || len(waiting) < sum.Waiting && admin {
		sum.Truncated = true
	}
	if len(waiting) > limit {
		waiting = waiting[:limit]
	}
	for _, w := range waiting {
		j := w.job
		t := j.topic()
		reason := messages.WaitQueued
		switch head := b.queues.get(t).head(); {
		case !b.offered(t):
			reason = messages.WaitNoAgent
		case w.pos == 1:
			reason = messages.WaitSlotsBusy
		case head.msg.Priority < j.msg.Priority:
			reason = messages.WaitLowerPriority
		}
		out.JobsWaiting = append(out.JobsWaiting, messages.QueueWaitingJob{
			JobID: j.id(), IsMine: j.clientID == forClient, Info: j.msg.Info(), Launcher: j.msg.Launcher,
			MaxTime: j.maxTime(), Priority: j.msg.Priority, QueuedAt: j.queuedAt.UnixMilli(),
			EnvironmentType: j.msg.EnvironmentType, Environment: j.msg.Environment,
			Position: w.pos, Reason: reason, Attempt: j.attempt,
		})
	}
	return out
}

// ranked is a waiting job with its position in its own queue.
type ranked struct {
	job *job
	pos int
}

// first returns the first n jobs of the queue in order, without changing
// it: a frontier heap of heap indices, O(n log n).
func (q *topicQueue) first(n int) []*job {
	out := make([]*job, 0, min(n, len(q.jobs)))
	f := &frontier{q: q}
	if len(q.jobs) > 0 {
		heap.Push(f, 0)
	}
	for len(out) < n && f.Len() > 0 {
		i := heap.Pop(f).(int)
		out = append(out, q.jobs[i])
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < len(q.jobs) {
				heap.Push(f, c)
			}
		}
	}
	return out
}

// ranks gives the positions in the queue (1: next) of js, jobs of this
// queue in order: one pass over the queue, each job placed among js by a
// binary search, O(n log k).
func (q *topicQueue) ranks(js []*job) []int {
	before := make([]int, len(js)+1) // before[i]: jobs that precede js[i] and not js[i-1]
	for _, o := range q.jobs {
		// The first of js that o precedes (o itself precedes none).
		i, _ := slices.BinarySearchFunc(js, o, func(x, o *job) int {
			if o.before(x) {
				return 1
			}
			return -1
		})
		before[i]++
	}
	out := make([]int, len(js))
	n := 0
	for i := range js {
		n += before[i]
		out[i] = n + 1
	}
	return out
}

// frontier orders heap indices of a topicQueue by their jobs.
type frontier struct {
	q   *topicQueue
	idx []int
}

func (f *frontier) Len() int           { return len(f.idx) }
func (f *frontier) Less(a, b int) bool { return f.q.jobs[f.idx[a]].before(f.q.jobs[f.idx[b]]) }
func (f *frontier) Swap(a, b int)      { f.idx[a], f.idx[b] = f.idx[b], f.idx[a] }
func (f *frontier) Push(x any)         { f.idx = append(f.idx, x.(int)) }
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
