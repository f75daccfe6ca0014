package backend

import (
	"container/heap"
	"math"
	"time"
)

// topic names one queue: a job waits for an agent offering exactly this.
type topic struct{ envType, env string }

func (t topic) String() string { return t.envType + "/" + t.env }

// shareKey names the slots a job's course, and its user within the
// course, hold (see fairShare).
type shareKey struct{ course, user string }

// courseKey is the key of a whole course's count, apart from any user's
// (a job without "@username" has user "").
func courseKey(course string) shareKey { return shareKey{course: course, user: "\x00course"} }

// leafKey names the jobs of one priority, course and user in a topic.
type leafKey struct {
	priority int
	shareKey
}

// indexed is a binary heap (container/heap) of items that keep their own
// index, so that one is removed or fixed in O(log n).
type indexed[T any] struct {
	items []T
	less  func(a, b T) bool
	at    func(T) *int // the item's index field; -1 out of the heap
}

func (h *indexed[T]) Len() int           { return len(h.items) }
func (h *indexed[T]) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *indexed[T]) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	*h.at(h.items[i]), *h.at(h.items[j]) = i, j
}
func (h *indexed[T]) Push(x any) {
	it := x.(T)
	*h.at(it) = len(h.items)
	h.items = append(h.items, it)
}
func (h *indexed[T]) Pop() any {
	last := len(h.items) - 1
	it := h.items[last]
	var zero T
	h.items[last] = zero
	h.items = h.items[:last]
	*h.at(it) = -1
	return it
}

// leaf holds the waiting jobs of one leafKey in a heap by arrival.
type leaf struct {
	key  leafKey
	jobs indexed[*job]
	// cq is its course's queue in its topic and priority; idx its place
	// in cq.idle, or -1 while its user holds a slot (then it is in
	// cq.busy).
	cq  *courseQueue
	idx int
}

func newLeaf(k leafKey) *leaf {
	return &leaf{key: k, idx: -1, jobs: indexed[*job]{
		less: (*job).before,
		at:   func(j *job) *int { return &j.index },
	}}
}

// head is the leaf's first job.
func (l *leaf) head() *job { return l.jobs.items[0] }

// topicQueue holds the waiting jobs of one topic in leaves, indexed by
// priority and course for the choice (best).
type topicQueue struct {
	topic  topic
	leaves map[leafKey]*leaf
	levels map[int]map[string]*courseQueue // priority -> course -> its leaves
	n      int
}

func (q *topicQueue) Len() int { return q.n }

// each calls fn with every waiting job, in no order.
func (q *topicQueue) each(fn func(*job)) {
	for _, l := range q.leaves {
		for _, j := range l.jobs.items {
			fn(j)
		}
	}
}

// courseQueue is one course's leaves of one topic and priority: those of
// users holding no slot in a heap by (virtual time, first arrival), which
// do not change while they hold none, and the others (at most one per
// running job) apart, compared at each choice.
type courseQueue struct {
	course string
	idle   indexed[*leaf]
	busy   map[*leaf]bool
}

// newIdleLeaves orders leaves by their user's virtual time, then their
// first job's arrival.
func newIdleLeaves(f *fairShare) indexed[*leaf] {
	return indexed[*leaf]{
		less: func(a, b *leaf) bool {
			va, vb := f.base(a.key.shareKey), f.base(b.key.shareKey)
			if math.Abs(va-vb) > 1e-9 {
				return va < vb
			}
			return a.head().seq < b.head().seq
		},
		at: func(l *leaf) *int { return &l.idx },
	}
}

// queues holds every topic's queue, and the counts the caps and the fair
// share need.
type queues struct {
	byTopic map[topic]*topicQueue
	waiting int
	// waitingBy counts waiting jobs per course (courseKey) and per course
	// and user, for the caps on waiting jobs.
	waitingBy map[shareKey]int
	// byUser holds every leaf of a course's user, to move them between
	// idle and busy when the user's slots change.
	byUser map[shareKey]map[*leaf]bool
	share  *fairShare
}

func newQueues(f *fairShare) *queues {
	return &queues{byTopic: make(map[topic]*topicQueue), waitingBy: map[shareKey]int{},
		byUser: map[shareKey]map[*leaf]bool{}, share: f}
}

func (qs *queues) get(t topic) *topicQueue {
	q := qs.byTopic[t]
	if q == nil {
		q = &topicQueue{topic: t, leaves: map[leafKey]*leaf{}, levels: map[int]map[string]*courseQueue{}}
		qs.byTopic[t] = q
	}
	return q
}

// addLeaf files a new leaf under its priority and course, idle or busy
// as its user holds slots or not.
func (qs *queues) addLeaf(q *topicQueue, l *leaf) {
	lv := q.levels[l.key.priority]
	if lv == nil {
		lv = map[string]*courseQueue{}
		q.levels[l.key.priority] = lv
	}
	cq := lv[l.key.course]
	if cq == nil {
		cq = &courseQueue{course: l.key.course, idle: newIdleLeaves(qs.share), busy: map[*leaf]bool{}}
		lv[l.key.course] = cq
	}
	l.cq, l.idx = cq, -1
	if qs.share.running(l.key.shareKey) > 0 {
		cq.busy[l] = true
	} else {
		heap.Push(&cq.idle, l)
	}
	u := qs.byUser[l.key.shareKey]
	if u == nil {
		u = map[*leaf]bool{}
		qs.byUser[l.key.shareKey] = u
	}
	u[l] = true
}

// dropLeaf unfiles an empty leaf.
func (qs *queues) dropLeaf(q *topicQueue, l *leaf) {
	cq := l.cq
	if l.idx >= 0 {
		heap.Remove(&cq.idle, l.idx)
	}
	delete(cq.busy, l)
	if cq.idle.Len() == 0 && len(cq.busy) == 0 {
		lv := q.levels[l.key.priority]
		delete(lv, l.key.course)
		if len(lv) == 0 {
			delete(q.levels, l.key.priority)
		}
	}
	delete(q.leaves, l.key)
	if u := qs.byUser[l.key.shareKey]; u != nil {
		delete(u, l)
		if len(u) == 0 {
			delete(qs.byUser, l.key.shareKey)
		}
	}
}

// userChanged files the leaves of a course's user again after its slots
// or its virtual time changed (fairShare.add, wake).
func (qs *queues) userChanged(k shareKey) {
	busy := qs.share.running(k) > 0
	for l := range qs.byUser[k] {
		switch {
		case busy && l.idx >= 0:
			heap.Remove(&l.cq.idle, l.idx)
			l.cq.busy[l] = true
		case !busy && l.idx < 0:
			delete(l.cq.busy, l)
			heap.Push(&l.cq.idle, l)
		case !busy:
			heap.Fix(&l.cq.idle, l.idx)
		}
	}
}

func (qs *queues) push(j *job) {
	q := qs.get(j.topic())
	k := j.leafKey()
	l := q.leaves[k]
	if l == nil {
		l = newLeaf(k)
		q.leaves[k] = l
		heap.Push(&l.jobs, j)
		qs.addLeaf(q, l)
	} else {
		heap.Push(&l.jobs, j)
		if l.idx >= 0 {
			heap.Fix(&l.cq.idle, l.idx) // its first job may have changed
		}
	}
	q.n++
	qs.waiting++
	qs.waitingBy[courseKey(k.course)]++
	qs.waitingBy[k.shareKey]++
}

func (qs *queues) remove(j *job) {
	q := qs.byTopic[j.topic()]
	if q == nil {
		return
	}
	k := j.leafKey()
	l := q.leaves[k]
	if l == nil || j.index < 0 || j.index >= l.jobs.Len() || l.jobs.items[j.index] != j {
		return
	}
	heap.Remove(&l.jobs, j.index)
	if l.jobs.Len() == 0 {
		qs.dropLeaf(q, l)
	} else if l.idx >= 0 {
		heap.Fix(&l.cq.idle, l.idx)
	}
	q.n--
	qs.waiting--
	for _, sk := range []shareKey{courseKey(k.course), k.shareKey} {
		if qs.waitingBy[sk]--; qs.waitingBy[sk] <= 0 {
			delete(qs.waitingBy, sk)
		}
	}
}

// fairShare is what the choice among waiting jobs of one priority weighs:
// the slot-time each course has had for its weight, and within a course
// the slot-time each of its users has had. As in a completely fair
// scheduler, a key's virtual time (vt) grows by the seconds its running
// jobs hold slots, divided by its weight; the job of the course, then of
// the user, with the smallest vt goes first. A course (or user) that
// starts waiting after having nothing waiting or running starts at the
// smallest vt of the others that are active, so it gets the next slot
// that frees but banks no credit for its idle time.
type fairShare struct {
	use     map[shareKey]*usage
	weights map[string]float64 // per course; 1 when absent
	now     func() time.Time
}

// usage is one course's or user's: vt was base at since, and grows from
// there by running slots per weight.
type usage struct {
	base    float64
	running int
	since   time.Time
}

func newFairShare(weights map[string]float64, now func() time.Time) fairShare {
	return fairShare{use: map[shareKey]*usage{}, weights: weights, now: now}
}

// clone copies the counts (for a simulation), sharing the weights.
func (f *fairShare) clone() fairShare {
	c := fairShare{use: make(map[shareKey]*usage, len(f.use)), weights: f.weights, now: f.now}
	for k, u := range f.use {
		v := *u
		c.use[k] = &v
	}
	return c
}

// isCourse says whether k counts a whole course.
func isCourse(k shareKey) bool { return k == courseKey(k.course) }

func (f *fairShare) weight(k shareKey) float64 {
	if !isCourse(k) {
		return 1 // users share their course equally
	}
	if w := f.weights[k.course]; w > 0 {
		return w
	}
	return 1
}

func (f *fairShare) vt(k shareKey, now time.Time) float64 {
	u := f.use[k]
	if u == nil {
		return 0
	}
	return u.base + float64(u.running)*now.Sub(u.since).Seconds()/f.weight(k)
}

// base is k's virtual time when it last changed: its virtual time as long
// as it holds no slot.
func (f *fairShare) base(k shareKey) float64 {
	if u := f.use[k]; u != nil {
		return u.base
	}
	return 0
}

func (f *fairShare) running(k shareKey) int {
	if u := f.use[k]; u != nil {
		return u.running
	}
	return 0
}

// add changes the slots j's course and user hold by n.
func (f *fairShare) add(j *job, n int) {
	now := f.now()
	k := j.leafKey().shareKey
	for _, sk := range []shareKey{courseKey(k.course), k} {
		u := f.use[sk]
		if u == nil {
			u = &usage{since: now}
			f.use[sk] = u
		}
		u.base, u.since = f.vt(sk, now), now
		u.running = max(0, u.running+n)
	}
}

// wake is called when j starts waiting: a course or user with nothing
// else waiting or running starts at the smallest vt of the active ones
// of its level (courses; the users of its course).
func (f *fairShare) wake(j *job, qs *queues) {
	now := f.now()
	k := j.leafKey().shareKey
	for _, sk := range []shareKey{courseKey(k.course), k} {
		if qs.waitingBy[sk] > 1 || f.running(sk) > 0 {
			continue
		}
		low, found := 0.0, false
		for ok, u := range f.use {
			if ok == sk || isCourse(ok) != isCourse(sk) || (!isCourse(sk) && ok.course != sk.course) {
				continue
			}
			if u.running == 0 && qs.waitingBy[ok] == 0 {
				continue
			}
			if v := f.vt(ok, now); !found || v < low {
				low, found = v, true
			}
		}
		u := f.use[sk]
		if u == nil {
			u = &usage{since: now}
			f.use[sk] = u
		}
		u.base, u.since = max(f.vt(sk, now), low), now
	}
}

// better says whether leaf a's head should run before leaf b's: priority
// first, then the course with the smaller vt, then the one holding fewer
// slots for its weight, then the user of the course with the smaller vt,
// then the one holding fewer slots, then arrival.
func (f *fairShare) better(a, b *leaf, now time.Time) bool {
	if a.key.priority != b.key.priority {
		return a.key.priority < b.key.priority
	}
	for _, level := range [2]func(leafKey) shareKey{
		func(k leafKey) shareKey { return courseKey(k.course) },
		func(k leafKey) shareKey { return k.shareKey },
	} {
		ka, kb := level(a.key), level(b.key)
		if ka == kb {
			continue
		}
		if va, vb := f.vt(ka, now), f.vt(kb, now); math.Abs(va-vb) > 1e-9 {
			return va < vb
		}
		if sa, sb := float64(f.running(ka))/f.weight(ka), float64(f.running(kb))/f.weight(kb); math.Abs(sa-sb) > 1e-9 {
			return sa < sb
		}
	}
	return a.head().seq < b.head().seq
}

// best returns the leaf, among the topics given, whose head should run
// next. Per topic, the best priority; in it, per course, the first idle
// leaf and every busy one; so O(topics × (priorities + courses + busy
// users)), whatever the number of users waiting.
func (qs *queues) best(topics []topic, f *fairShare) *leaf {
	var best *leaf
	now := f.now()
	for _, t := range topics {
		q := qs.byTopic[t]
		if q == nil || len(q.levels) == 0 {
			continue
		}
		prio, first := 0, true
		for p := range q.levels {
			if first || p < prio {
				prio, first = p, false
			}
		}
		for _, cq := range q.levels[prio] {
			if cq.idle.Len() > 0 && (best == nil || f.better(cq.idle.items[0], best, now)) {
				best = cq.idle.items[0]
			}
			for l := range cq.busy {
				if best == nil || f.better(l, best, now) {
					best = l
				}
			}
		}
	}
	return best
}

// bestByScan is best by comparing every leaf: what best must agree with
// (tests), and the simulation's choice (snapshot.go).
func bestByScan(leaves []*leaf, f *fairShare, now time.Time) int {
	bi := -1
	for i, l := range leaves {
		if bi < 0 || f.better(l, leaves[bi], now) {
			bi = i
		}
	}
	return bi
}
