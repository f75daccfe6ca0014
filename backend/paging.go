package backend

import (
	"cmp"
	"container/heap"
	"slices"

	"github.com/ingo-grader/ingo/messages"
)

// page is one page of every job a client may see (its own; an admin all),
// in the order of messages.QueueCursor: running jobs by dispatch, then
// waiting jobs by environment, priority and arrival, from req.After on,
// at most req.Limit of them, with the counts of what the filters keep and,
// on the first page, the agents. Waiting jobs are not placed in the
// dispatch order (position 0): that takes a simulation from the head of
// the queue, which a page deep in it cannot afford. A page of one job
// (req.JobID) lists no agents. Cost: O(running jobs + buckets + limit ×
// log buckets).
func (b *Backend) page(forClient string, admin bool, req *messages.ClientGetQueue) *messages.BackendGetQueue {
	v := view{client: forClient, admin: admin, envType: req.EnvironmentType, env: req.Environment, course: req.CourseID}
	sum := b.queues.index.summary(v)
	out := &messages.BackendGetQueue{JobsRunning: []messages.QueueRunningJob{}, JobsWaiting: []messages.QueueWaitingJob{},
		Agents: []messages.QueueAgent{}, Summary: sum}
	if req.JobID != "" {
		b.onePage(v, req.JobID, out)
		return out
	}
	if req.After == nil {
		out.Agents = b.agentList()
	}
	left, after := req.Limit, req.After
	if after == nil || after.Running {
		var running []*job
		for _, j := range b.queues.index.runningJobs(v) {
			if after == nil || j.dispatchSeq > after.Seq {
				running = append(running, j)
			}
		}
		if len(running) > left || (len(running) == left && sum.Waiting > 0) {
			running = running[:left]
			out.Next = &messages.QueueCursor{Running: true, Seq: running[len(running)-1].dispatchSeq}
		}
		out.JobsRunning = b.runningList(running, forClient)
		if out.Next != nil {
			sum.Truncated = true
			return out
		}
		left, after = left-len(running), nil
	}
	waiting, more := b.waitingFrom(v, after, left)
	list := make([]ranked, len(waiting))
	for i, j := range waiting {
		list[i] = ranked{job: j}
	}
	out.JobsWaiting = b.waitingList(list, forClient)
	if more {
		last := waiting[len(waiting)-1]
		out.Next = &messages.QueueCursor{EnvironmentType: last.head.EnvironmentType, Environment: last.head.Environment,
			Priority: last.head.Priority, Seq: last.seq}
		sum.Truncated = true
	}
	return out
}

// onePage lists the job of id in out if it is queued or running and v
// sees it: O(1) wherever the job waits.
func (b *Backend) onePage(v view, id string, out *messages.BackendGetQueue) {
	j := b.jobs[id]
	if j == nil || !v.keepsJob(j) {
		return
	}
	if _, running := b.queues.index.running[j]; running {
		out.JobsRunning = b.runningList([]*job{j}, v.client)
	} else if j.index >= 0 {
		out.JobsWaiting = b.waitingList([]ranked{{job: j}}, v.client)
	}
}

// waitingFrom is the first n waiting jobs v sees after the cursor (nil:
// from the start), by environment, priority and arrival, and whether more
// follow.
func (b *Backend) waitingFrom(v view, after *messages.QueueCursor, n int) ([]*job, bool) {
	type group struct {
		t    topic
		prio int
	}
	groups := map[group][]*seqList{}
	for k, s := range b.queues.index.buckets {
		if v.keeps(k.countKey) {
			g := group{k.topic, k.priority}
			groups[g] = append(groups[g], s)
		}
	}
	order := make([]group, 0, len(groups))
	for g := range groups {
		order = append(order, g)
	}
	cmpGroup := func(a, b group) int {
		return cmp.Or(cmp.Compare(a.t.envType, b.t.envType), cmp.Compare(a.t.env, b.t.env), cmp.Compare(a.prio, b.prio))
	}
	slices.SortFunc(order, cmpGroup)
	var out []*job
	for _, g := range order {
		from, all := uint64(0), true
		if after != nil {
			switch c := cmpGroup(g, group{topic{after.EnvironmentType, after.Environment}, after.Priority}); {
			case c < 0:
				continue
			case c == 0:
				from, all = after.Seq, false
			}
		}
		m := mergeBySeq(groups[g], from, all)
		for ; m.Len() > 0; m.next() {
			if len(out) == n {
				return out, true
			}
			out = append(out, m.peek())
		}
	}
	return out, false
}

// byArrival is the first n waiting jobs v sees by arrival alone, leaving
// out those in skip.
func (b *Backend) byArrival(v view, n int, skip map[*job]bool) []*job {
	if n <= 0 {
		return nil
	}
	var lists []*seqList
	for k, s := range b.queues.index.buckets {
		if v.keeps(k.countKey) {
			lists = append(lists, s)
		}
	}
	var out []*job
	for m := mergeBySeq(lists, 0, true); m.Len() > 0 && len(out) < n; m.next() {
		if j := m.peek(); !skip[j] {
			out = append(out, j)
		}
	}
	return out
}

// seqMerge walks several seqLists as one, by arrival: a heap of their
// iterators.
type seqMerge []seqIter

func mergeBySeq(lists []*seqList, after uint64, all bool) *seqMerge {
	m := make(seqMerge, 0, len(lists))
	for _, s := range lists {
		if it := s.after(after, all); it.peek() != nil {
			m = append(m, it)
		}
	}
	heap.Init(&m)
	return &m
}

func (m *seqMerge) peek() *job { return (*m)[0].peek() }

func (m *seqMerge) next() {
	(*m)[0].next()
	if (*m)[0].peek() == nil {
		heap.Pop(m)
	} else {
		heap.Fix(m, 0)
	}
}

func (m seqMerge) Len() int           { return len(m) }
func (m seqMerge) Less(a, b int) bool { return m[a].peek().seq < m[b].peek().seq }
func (m seqMerge) Swap(a, b int)      { m[a], m[b] = m[b], m[a] }
func (m *seqMerge) Push(x any)        { *m = append(*m, x.(seqIter)) }
func (m *seqMerge) Pop() any {
	last := (*m)[len(*m)-1]
	*m = (*m)[:len(*m)-1]
	return last
}
