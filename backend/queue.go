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

// leaf is a binary heap of the waiting jobs of one leafKey, by arrival.
// Jobs remember their index, so a kill removes a job in O(log n).
type leaf struct {
	key  leafKey
	jobs []*job
}

func (l *leaf) Len() int           { return len(l.jobs) }
func (l *leaf) Less(i, j int) bool { return l.jobs[i].before(l.jobs[j]) }
func (l *leaf) Swap(i, j int) {
	l.jobs[i], l.jobs[j] = l.jobs[j], l.jobs[i]
	l.jobs[i].index = i
	l.jobs[j].index = j
}
func (l *leaf) Push(x any) {
	j := x.(*job)
	j.index = len(l.jobs)
	l.jobs = append(l.jobs, j)
}
func (l *leaf) Pop() any {
	last := len(l.jobs) - 1
	j := l.jobs[last]
	l.jobs[last] = nil
	l.jobs = l.jobs[:last]
	j.index = -1
	return j
}

// topicQueue holds the waiting jobs of one topic in leaves.
type topicQueue struct {
	topic  topic
	leaves map[leafKey]*leaf
	n      int
}

func (q *topicQueue) Len() int { return q.n }

// each calls fn with every waiting job, in no order.
func (q *topicQueue) each(fn func(*job)) {
	for _, l := range q.leaves {
		for _, j := range l.jobs {
			fn(j)
		}
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
}

func newQueues() *queues {
	return &queues{byTopic: make(map[topic]*topicQueue), waitingBy: map[shareKey]int{}}
}

func (qs *queues) get(t topic) *topicQueue {
	q := qs.byTopic[t]
	if q == nil {
		q = &topicQueue{topic: t, leaves: map[leafKey]*leaf{}}
		qs.byTopic[t] = q
	}
	return q
}

func (qs *queues) push(j *job) {
	q := qs.get(j.topic())
	k := j.leafKey()
	l := q.leaves[k]
	if l == nil {
		l = &leaf{key: k}
		q.leaves[k] = l
	}
	heap.Push(l, j)
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
	if l == nil || j.index < 0 || j.index >= len(l.jobs) || l.jobs[j.index] != j {
		return
	}
	heap.Remove(l, j.index)
	if len(l.jobs) == 0 {
		delete(q.leaves, k)
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
	return a.jobs[0].seq < b.jobs[0].seq
}

// best returns the leaf, among the topics given, whose head should run
// next. O(leaves of those topics).
func (qs *queues) best(topics []topic, f *fairShare) *leaf {
	var best *leaf
	now := f.now()
	for _, t := range topics {
		q := qs.byTopic[t]
		if q == nil {
			continue
		}
		for _, l := range q.leaves {
			if best == nil || f.better(l, best, now) {
				best = l
			}
		}
	}
	return best
}
