package backend

import (
	"container/heap"

	"github.com/ingo-grader/ingo/messages"
)

// agentIndex files every agent with a free slot under each environment
// (topic) it offers, in a heap ordered as leastBusy chooses: the smallest
// share of busy slots (running/slots), then the one picked longest ago,
// then the id (the old scan left that last tie to map order). Dispatch
// then looks at the top of the heaps of the environments with waiting
// jobs instead of at every agent: O(environments) per choice and
// O(environments offered × log agents) per change of an agent, whatever
// the number of agents.
//
// Each agent is filed with a copy of what orders it (running, slots,
// lastPick, topics), so that the heaps stay valid while the agent changes
// under them; refile brings the copy up to date. Every place that changes
// an agent's running set, slots, topics or last pick calls refile (or
// forget, when the agent leaves): assign in the dispatch loop, requeue,
// a result, a hello, a lost agent.
type agentIndex struct {
	byTopic map[topic]*indexed[*agentEntry]
	filed   map[*agent]*agentFile
	// advertisedBy counts the registered agents advertising each
	// environment (see advertise).
	advertisedBy map[topic]int
	// check, when set (tests), hears of every choice dispatch makes, with
	// the agents set aside this round, before the job is assigned.
	check func(got *agent, idle []*agent)
}

// agentFile is what an agent is filed with; running counts its container
// jobs (agent.busy).
type agentFile struct {
	a              *agent
	running, slots int
	lastPick       uint64
	entries        []*agentEntry // one per topic, in a.topics' order
}

// agentEntry is an agent's place in one topic's heap.
type agentEntry struct {
	f   *agentFile
	t   topic
	idx int
}

// lessLoaded orders two filed agents as leastBusy does.
func lessLoaded(x, y *agentFile) bool {
	// running/slots without division; slots > 0 for every filed agent.
	if l, r := x.running*y.slots, y.running*x.slots; l != r {
		return l < r
	}
	if x.lastPick != y.lastPick {
		return x.lastPick < y.lastPick
	}
	return x.a.id < y.a.id
}

func newAgentHeap() *indexed[*agentEntry] {
	return &indexed[*agentEntry]{
		less: func(x, y *agentEntry) bool { return lessLoaded(x.f, y.f) },
		at:   func(e *agentEntry) *int { return &e.idx },
	}
}

// refile brings a's place in the index up to date with a: filed under the
// topics it takes a job of now (a free slot, or for an instant topic a
// free instant slot), not at all when there is none. It costs nothing
// when nothing changed; a nil agent (one that is not registered) is
// ignored.
func (ix *agentIndex) refile(a *agent) {
	if a == nil {
		return
	}
	f := ix.filed[a]
	open := a.open()
	if len(open) == 0 {
		ix.forget(a)
		return
	}
	if f != nil && !sameTopics(f.entries, open) {
		ix.forget(a)
		f = nil
	}
	if f == nil {
		ix.file(a, open)
		return
	}
	if f.running == a.busy() && f.slots == a.slots && f.lastPick == a.lastPick {
		return
	}
	f.running, f.slots, f.lastPick = a.busy(), a.slots, a.lastPick
	for _, e := range f.entries {
		heap.Fix(ix.byTopic[e.t], e.idx)
	}
}

// file files a under the topics it takes a job of now (agent.open).
func (ix *agentIndex) file(a *agent, open []topic) {
	if ix.filed == nil {
		ix.filed = map[*agent]*agentFile{}
		ix.byTopic = map[topic]*indexed[*agentEntry]{}
	}
	f := &agentFile{a: a, running: a.busy(), slots: a.slots, lastPick: a.lastPick,
		entries: make([]*agentEntry, len(open))}
	for i, t := range open {
		h := ix.byTopic[t]
		if h == nil {
			h = newAgentHeap()
			ix.byTopic[t] = h
		}
		f.entries[i] = &agentEntry{f: f, t: t}
		heap.Push(h, f.entries[i])
	}
	ix.filed[a] = f
}

// forget takes a out of the index: it has no free slot, or left.
func (ix *agentIndex) forget(a *agent) {
	f := ix.filed[a]
	if f == nil {
		return
	}
	for _, e := range f.entries {
		h := ix.byTopic[e.t]
		heap.Remove(h, e.idx)
		if h.Len() == 0 {
			// Keep the map to the environments some free agent offers:
			// pick ranges over it.
			delete(ix.byTopic, e.t)
		}
	}
	delete(ix.filed, a)
}

func sameTopics(entries []*agentEntry, topics []topic) bool {
	if len(entries) != len(topics) {
		return false
	}
	for i, e := range entries {
		if e.t != topics[i] {
			return false
		}
	}
	return true
}

// pick returns the agent leastBusy would choose among those with a free
// slot and a waiting job they can take, nil if there is none: the best of
// the heaps' tops over the environments with waiting jobs. An agent set
// aside (idle) is out of the index for the round.
func (ix *agentIndex) pick(qs *queues) *agent {
	var best *agentFile
	for t, h := range ix.byTopic {
		if q := qs.byTopic[t]; q == nil || len(q.levels) == 0 {
			continue // no job waits there: what queues.best would skip
		}
		if top := h.items[0].f; best == nil || lessLoaded(top, best) {
			best = top
		}
	}
	if best == nil {
		return nil
	}
	return best.a
}

// advertise counts the agents advertising each environment, as an agent's
// environments go from was to now (nil: none, before its first hello or
// once it is lost), and says whether the set of environments advertised
// by some agent changed. Only then has updateEnvironments, a pass over
// every agent, anything to tell the clients: a thousand agents saying
// hello cost a thousand passes over a thousand agents otherwise.
func (ix *agentIndex) advertise(was, now map[string]map[string]messages.EnvironmentInfo) bool {
	if ix.advertisedBy == nil {
		ix.advertisedBy = map[topic]int{}
	}
	before := map[topic]int{}
	count := func(envs map[string]map[string]messages.EnvironmentInfo, d int) {
		for typ, names := range envs {
			for name, info := range names {
				if !info.Advertised {
					continue
				}
				t := topic{typ, name}
				if _, seen := before[t]; !seen {
					before[t] = ix.advertisedBy[t]
				}
				ix.advertisedBy[t] += d
			}
		}
	}
	count(now, 1)
	count(was, -1)
	changed := false
	for t, n := range before {
		after := ix.advertisedBy[t]
		if after == 0 {
			delete(ix.advertisedBy, t)
		}
		changed = changed || (n > 0) != (after > 0)
	}
	return changed
}
