package backend

import (
	"math"
	"strings"
	"time"
)

// fairShare is what the choice among waiting jobs of one priority weighs:
// the slot-time each course has had for its weight, and within a course
// the slot-time each of its users has had. As in a completely fair
// scheduler, a key's virtual time (vt) grows by the seconds its running
// jobs hold slots, divided by its weight; the job of the course, then of
// the user, with the smallest vt goes first. A course (or user) that
// starts waiting after having nothing waiting or running starts at the
// smallest vt of the others that are active, so it gets the next slot
// that frees but banks no credit for its idle time.
//
// A job taking a slot is also charged at once, until it ends, the hold
// its key's recent jobs had (est): without it, slots that free together
// (an agent registering, jobs started together ending together) would all
// go to the key that was behind, whose vt has not moved yet, and the
// share would swing by whole rounds of slots before evening out. The
// advance is a standing offset of at most running × est, never summed
// into base, so the share over time is the slot-time really held.
type fairShare struct {
	use     map[shareKey]*usage
	weights map[string]float64 // per "client/course" or course; 1 when absent
	now     func() time.Time
	est     float64 // seconds: recent hold of any job, for keys with none yet
}

// usage is one course's or user's: vt was base at since, and grows from
// there by running slots per weight; est is its jobs' recent hold in
// seconds, 0 until one ended.
type usage struct {
	base    float64
	running int
	since   time.Time
	est     float64
}

func newFairShare(weights map[string]float64, now func() time.Time) fairShare {
	return fairShare{use: map[shareKey]*usage{}, weights: weights, now: now}
}

// clone copies the counts (for a simulation), sharing the weights.
func (f *fairShare) clone() fairShare {
	c := fairShare{use: make(map[shareKey]*usage, len(f.use)), weights: f.weights, now: f.now, est: f.est}
	for k, u := range f.use {
		v := *u
		c.use[k] = &v
	}
	return c
}

// isCourse says whether k counts a whole course.
func isCourse(k shareKey) bool { return k == k.courseKey() }

// weight is a course's: named "client/course" for one client's course,
// else by its id alone for that course of every client (weight names
// from before courses were a client's keep working), else 1. A name with
// a "/" is always a client's course: a frontend that called its course
// "webapp/algo" would otherwise get, by the bare name, the weight set
// for webapp's algo.
func (f *fairShare) weight(k shareKey) float64 {
	if !isCourse(k) {
		return 1 // users share their course equally
	}
	if w := f.weights[k.client+"/"+k.course]; w > 0 {
		return w
	}
	if strings.Contains(k.course, "/") {
		return 1
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
	return f.accrued(k, u, now) + float64(u.running)*f.estimate(k, u)/f.weight(k)
}

// accrued is k's virtual time from the slot-time really held, without
// the advance on its running jobs.
func (f *fairShare) accrued(k shareKey, u *usage, now time.Time) float64 {
	return u.base + float64(u.running)*now.Sub(u.since).Seconds()/f.weight(k)
}

// estimate is the hold a job of k is charged in advance: k's own recent
// one, else its course's (users of a course run alike tasks), else any
// job's.
func (f *fairShare) estimate(k shareKey, u *usage) float64 {
	if u.est > 0 {
		return u.est
	}
	if !isCourse(k) {
		if c := f.use[k.courseKey()]; c != nil && c.est > 0 {
			return c.est
		}
	}
	return f.est
}

// learn folds one job's hold (seconds) into an estimate.
func learn(est, hold float64) float64 {
	if est <= 0 {
		return hold
	}
	return (7*est + hold) / 8
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

// add changes the slots j's course and user hold by n. A slot given
// back (n < 0) at the time end teaches its hold, from j's assignment, to
// the estimates. end is the transition's own time, not now: a replayed
// journal applies jobs that ended minutes ago, and their holds counted to
// the replay made every course's estimate about as long as the journal
// (34 s for jobs of 1 s), so that after a backend restart a course with a
// job running was charged that much in advance and the others' jobs went
// first for as long (a deadline run's two courses had no job start for
// 40 s while the third flooded). A zero end (unknown) teaches nothing.
func (f *fairShare) add(j *job, n int, end time.Time) {
	now := f.now()
	hold := -1.0
	if n < 0 && j.assignedAt != 0 && !end.IsZero() {
		hold = end.Sub(j.assignedAt.time()).Seconds()
	}
	k := j.leafKey().shareKey
	for _, sk := range []shareKey{k.courseKey(), k} {
		u := f.use[sk]
		if u == nil {
			u = &usage{since: now}
			f.use[sk] = u
		}
		u.base, u.since = f.accrued(sk, u, now), now
		u.running = max(0, u.running+n)
		if hold >= 0 {
			u.est = learn(u.est, hold)
		}
	}
	if hold >= 0 {
		f.est = learn(f.est, hold)
	}
}

// wake is called when j starts waiting: a course or user with nothing
// else waiting or running starts at the smallest vt of the active ones
// of its level (courses; the users of its course).
func (f *fairShare) wake(j *job, qs *queues) {
	now := f.now()
	k := j.leafKey().shareKey
	for _, sk := range []shareKey{k.courseKey(), k} {
		if qs.waitingBy[sk] > 1 || f.running(sk) > 0 {
			continue
		}
		low, found := 0.0, false
		for ok, u := range f.use {
			if ok == sk || isCourse(ok) != isCourse(sk) || (!isCourse(sk) && ok.courseKey() != sk.courseKey()) {
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
		u.base, u.since = max(f.accrued(sk, u, now), low), now
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
		func(k leafKey) shareKey { return k.courseKey() },
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
