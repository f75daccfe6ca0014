package backend

import (
	"container/heap"
	"math"
)

// topic names one queue: a job waits for an agent offering exactly this.
type topic struct{ envType, env string }

func (t topic) String() string { return t.envType + "/" + t.env }

// shareKey names the slots a job's course, and its user within the
// course, hold (see fairShare). A course is a client's: each frontend
// chooses its course ids, and may only act on its own courses
// (docs/security.md), so another frontend's course of the same name is
// another course, with its own share and caps; a user is one of its
// course's.
type shareKey struct{ client, course, user string }

// courseKey is the key of a whole course's count, apart from any user's
// (a job without "@username" has user "").
func courseKey(client, course string) shareKey {
	return shareKey{client: client, course: course, user: "\x00course"}
}

// courseKey is the key of k's whole course.
func (k shareKey) courseKey() shareKey { return courseKey(k.client, k.course) }

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
	levels map[int]map[shareKey]*courseQueue // priority -> course (courseKey) -> its leaves
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
	course shareKey // courseKey
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
	// index keeps the counts and arrival order snapshots read
	// (queueindex.go), in step with push and remove.
	index *queueIndex
}

func newQueues(f *fairShare) *queues {
	return &queues{byTopic: make(map[topic]*topicQueue), waitingBy: map[shareKey]int{},
		byUser: map[shareKey]map[*leaf]bool{}, share: f, index: newQueueIndex()}
}

func (qs *queues) get(t topic) *topicQueue {
	q := qs.byTopic[t]
	if q == nil {
		q = &topicQueue{topic: t, leaves: map[leafKey]*leaf{}, levels: map[int]map[shareKey]*courseQueue{}}
		qs.byTopic[t] = q
	}
	return q
}

// addLeaf files a new leaf under its priority and course, idle or busy
// as its user holds slots or not.
func (qs *queues) addLeaf(q *topicQueue, l *leaf) {
	lv := q.levels[l.key.priority]
	if lv == nil {
		lv = map[shareKey]*courseQueue{}
		q.levels[l.key.priority] = lv
	}
	ck := l.key.courseKey()
	cq := lv[ck]
	if cq == nil {
		cq = &courseQueue{course: ck, idle: newIdleLeaves(qs.share), busy: map[*leaf]bool{}}
		lv[ck] = cq
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
		delete(lv, cq.course)
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
	qs.waitingBy[k.courseKey()]++
	qs.waitingBy[k.shareKey]++
	qs.index.waitingAdded(j)
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
	for _, sk := range []shareKey{k.courseKey(), k.shareKey} {
		if qs.waitingBy[sk]--; qs.waitingBy[sk] <= 0 {
			delete(qs.waitingBy, sk)
		}
	}
	qs.index.waitingRemoved(j)
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
