package backend

import (
	"cmp"
	"container/heap"
	"math"
	"slices"
	"time"
)

// dispatchSim plays the fair share's choice (queues.best) forward on the
// real queues without changing them, for queue snapshots: each pick holds
// a slot in a lazy copy of the fair share's counts, and no time passes. It
// touches only what it picks and what it compares: a course's idle leaves
// are walked in their heap's order (walk), skipping those whose user a
// pick made busy; the leaves of busy users sit in a heap per course by
// (user's virtual time, user's slots, next job), which is how
// fairShare.better orders them within a course. So n picks cost
// O(n × (topics × courses + log n)), whatever the number of waiting jobs,
// users or leaves.
type dispatchSim struct {
	qs      *queues
	real    *fairShare
	f       fairShare // the picks' counts; holds only the keys it read
	now     time.Time
	courses map[*courseQueue]*simCourse
	leaves  map[*leaf]*simLeaf
	views   map[*leaf]*simLeaf // by their view
	picked  map[shareKey]bool  // users idle in the real queues that a pick made busy
	levels  map[topic]*simLevels
}

// simCourse is one course's leaves of one topic and priority.
type simCourse struct {
	idle walk[*leaf]       // the real idle heap, in order
	busy indexed[*simLeaf] // leaves of users holding slots, real or picked
}

// simLeaf is a leaf whose jobs the simulation takes in turn; view is a
// one-job leaf holding its next job, for fairShare.better.
type simLeaf struct {
	l     *leaf
	jobs  walk[*job]
	view  leaf
	done  bool
	index int
}

// simLevels is a topic's priorities, best first, and the first one that
// may still hold jobs.
type simLevels struct {
	prios []int
	cur   int
}

func (b *Backend) newDispatchSim() *dispatchSim {
	now := b.now()
	f := fairShare{use: map[shareKey]*usage{}, weights: b.share.weights, now: func() time.Time { return now }, est: b.share.est}
	return &dispatchSim{qs: b.queues, real: &b.share, f: f, now: now, courses: map[*courseQueue]*simCourse{},
		leaves: map[*leaf]*simLeaf{}, views: map[*leaf]*simLeaf{}, picked: map[shareKey]bool{}, levels: map[topic]*simLevels{}}
}

// ensure copies a key's counts into the simulation before it reads them.
func (s *dispatchSim) ensure(k shareKey) {
	if _, ok := s.f.use[k]; ok {
		return
	}
	if u := s.real.use[k]; u != nil {
		v := *u
		s.f.use[k] = &v
	}
}

func (s *dispatchSim) ensureLeaf(l *leaf) {
	s.ensure(l.key.courseKey())
	s.ensure(l.key.shareKey)
}

func (s *dispatchSim) course(cq *courseQueue) *simCourse {
	c := s.courses[cq]
	if c != nil {
		return c
	}
	c = &simCourse{idle: walk[*leaf]{h: &cq.idle}, busy: indexed[*simLeaf]{
		less: func(a, b *simLeaf) bool {
			ka, kb := a.l.key.shareKey, b.l.key.shareKey
			if va, vb := s.f.vt(ka, s.now), s.f.vt(kb, s.now); math.Abs(va-vb) > 1e-9 {
				return va < vb
			}
			if ra, rb := s.f.running(ka), s.f.running(kb); ra != rb {
				return ra < rb
			}
			return a.view.head().seq < b.view.head().seq
		},
		at: func(l *simLeaf) *int { return &l.index },
	}}
	s.courses[cq] = c
	for l := range cq.busy {
		s.makeBusy(c, l)
	}
	return c
}

func (s *dispatchSim) leaf(l *leaf) *simLeaf {
	sl := s.leaves[l]
	if sl == nil {
		s.ensureLeaf(l)
		sl = &simLeaf{l: l, jobs: walk[*job]{h: &l.jobs}, index: -1, view: leaf{key: l.key}}
		j, _ := sl.jobs.peek()
		sl.view.jobs.items = []*job{j}
		s.leaves[l] = sl
		s.views[&sl.view] = sl
	}
	return sl
}

// makeBusy files l among its course's busy leaves.
func (s *dispatchSim) makeBusy(c *simCourse, l *leaf) {
	if sl := s.leaf(l); !sl.done && sl.index < 0 {
		heap.Push(&c.busy, sl)
	}
}

// top is the course's leaf that goes first, nil when it has none left.
func (s *dispatchSim) top(c *simCourse) *leaf {
	var idle *leaf
	for {
		l, ok := c.idle.peek()
		if !ok {
			break
		}
		if !s.picked[l.key.shareKey] {
			idle = l
			s.ensureLeaf(l)
			break
		}
		c.idle.pop() // among the busy ones now
	}
	var busy *leaf
	if c.busy.Len() > 0 {
		busy = &c.busy.items[0].view
	}
	switch {
	case idle == nil:
		return busy
	case busy == nil || s.f.better(idle, busy, s.now):
		return idle
	}
	return busy
}

// best is the leaf of the given topics that goes next; for a simLeaf, its
// view.
func (s *dispatchSim) best(topics []topic) *leaf {
	var best *leaf
	for _, t := range topics {
		q := s.qs.byTopic[t]
		if q == nil {
			continue
		}
		lv := s.levels[t]
		if lv == nil {
			lv = &simLevels{}
			for p := range q.levels {
				lv.prios = append(lv.prios, p)
			}
			slices.Sort(lv.prios)
			s.levels[t] = lv
		}
		for ; lv.cur < len(lv.prios); lv.cur++ {
			var here *leaf
			for _, cq := range q.levels[lv.prios[lv.cur]] {
				if l := s.top(s.course(cq)); l != nil && (here == nil || s.f.better(l, here, s.now)) {
					here = l
				}
			}
			if here != nil {
				if best == nil || s.f.better(here, best, s.now) {
					best = here
				}
				break
			}
		}
	}
	return best
}

// pick takes the next job of l (a real idle leaf or a simLeaf's view).
func (s *dispatchSim) pick(l *leaf) *job {
	sl := s.views[l]
	if sl == nil { // a real idle leaf
		sl = s.leaf(l)
	}
	j := sl.view.head()
	sl.jobs.pop()
	if next, ok := sl.jobs.peek(); ok {
		sl.view.jobs.items[0] = next
	} else {
		sl.done = true
	}
	k := sl.l.key.shareKey
	s.f.add(j, 1, time.Time{})
	if s.real.running(k) == 0 && !s.picked[k] {
		s.picked[k] = true
		for ol := range s.qs.byUser[k] {
			s.makeBusy(s.course(ol.cq), ol)
		}
	}
	// Its user's counts changed: refile its leaves.
	for ol := range s.qs.byUser[k] {
		osl := s.leaves[ol]
		if osl == nil || osl.index < 0 {
			continue
		}
		c := s.course(ol.cq)
		if osl.done {
			heap.Remove(&c.busy, osl.index)
		} else {
			heap.Fix(&c.busy, osl.index)
		}
	}
	return j
}

// walk pops a heap's items in order without changing the heap: a heap of
// indices, seeded with the root, that adds an index's children as it
// pops it. k pops cost O(k log k).
type walk[T any] struct {
	h       *indexed[T]
	idx     []int
	started bool
}

func (w *walk[T]) peek() (T, bool) {
	if !w.started {
		w.started = true
		if w.h.Len() > 0 {
			w.idx = append(w.idx, 0)
		}
	}
	if len(w.idx) == 0 {
		var zero T
		return zero, false
	}
	return w.h.items[w.idx[0]], true
}

func (w *walk[T]) pop() {
	if _, ok := w.peek(); !ok {
		return
	}
	i := heap.Pop(w).(int)
	for _, c := range []int{2*i + 1, 2*i + 2} {
		if c < w.h.Len() {
			heap.Push(w, c)
		}
	}
}

func (w *walk[T]) Len() int { return len(w.idx) }
func (w *walk[T]) Less(a, b int) bool {
	return w.h.less(w.h.items[w.idx[a]], w.h.items[w.idx[b]])
}
func (w *walk[T]) Swap(a, b int) { w.idx[a], w.idx[b] = w.idx[b], w.idx[a] }
func (w *walk[T]) Push(x any)    { w.idx = append(w.idx, x.(int)) }
func (w *walk[T]) Pop() any {
	last := w.idx[len(w.idx)-1]
	w.idx = w.idx[:len(w.idx)-1]
	return last
}

// sortedTopics is every topic with waiting jobs, by type then name.
func (qs *queues) sortedTopics() []topic {
	ts := make([]topic, 0, len(qs.byTopic))
	for t, q := range qs.byTopic {
		if q.Len() > 0 {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, func(a, b topic) int { return cmp.Or(cmp.Compare(a.envType, b.envType), cmp.Compare(a.env, b.env)) })
	return ts
}
