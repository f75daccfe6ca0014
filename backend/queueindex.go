package backend

import (
	"cmp"
	"slices"
	"strings"

	"github.com/ingo-grader/ingo/messages"
)

// queueIndex keeps what snapshots and pages read without walking every
// job: per client, topic, course and priority, its waiting jobs by
// arrival (a bucket); per client, topic and course, how many of its jobs
// hold a slot; and the set of those jobs. The queues keep it (push and
// remove), and apply tells it when a job takes or frees a slot. Buckets
// are few (clients × environments × courses × priorities), so counts add
// them up in O(buckets), whatever the number of jobs.
type queueIndex struct {
	buckets   map[bucketKey]*seqList
	running   map[*job]struct{}
	runningBy map[countKey]int
}

// countKey names one owner's jobs of one environment and course (a
// client's, or a frontend's within an admin client: job.owner).
type countKey struct {
	owner  string
	topic  topic
	course string
}

// bucketKey names one client's waiting jobs of one environment, course and
// priority.
type bucketKey struct {
	countKey
	priority int
}

func newQueueIndex() *queueIndex {
	return &queueIndex{buckets: map[bucketKey]*seqList{}, running: map[*job]struct{}{}, runningBy: map[countKey]int{}}
}

func countKeyOf(j *job) countKey {
	return countKey{owner: j.owner, topic: j.topic(), course: j.head.CourseID}
}

// waitingAdded and waitingRemoved follow the queues: O(log n).
func (x *queueIndex) waitingAdded(j *job) {
	if x == nil {
		return
	}
	k := bucketKey{countKeyOf(j), j.head.Priority}
	s := x.buckets[k]
	if s == nil {
		s = &seqList{}
		x.buckets[k] = s
	}
	s.insert(j)
}

func (x *queueIndex) waitingRemoved(j *job) {
	if x == nil {
		return
	}
	k := bucketKey{countKeyOf(j), j.head.Priority}
	if s := x.buckets[k]; s != nil && s.delete(j) && s.Len() == 0 {
		delete(x.buckets, k)
	}
}

// started and stopped follow the slots jobs hold (JobAssigned, release);
// each is idempotent, so a re-take counts once.
func (x *queueIndex) started(j *job) {
	if _, ok := x.running[j]; ok {
		return
	}
	x.running[j] = struct{}{}
	x.runningBy[countKeyOf(j)]++
}

func (x *queueIndex) stopped(j *job) {
	if _, ok := x.running[j]; !ok {
		return
	}
	delete(x.running, j)
	k := countKeyOf(j)
	if x.runningBy[k]--; x.runningBy[k] <= 0 {
		delete(x.runningBy, k)
	}
}

// view is what one request may see: a client's own jobs (all for an
// admin), of the environments and course its filters keep.
type view struct {
	client  string
	admin   bool
	envType string // "" keeps every environment
	env     string // "" keeps every environment of envType
	course  string // "" keeps every course
}

func (v view) keeps(k countKey) bool {
	// A client that is not an admin submits for no frontend: its jobs'
	// owner is its id.
	return (v.admin || k.owner == v.client) && (v.envType == "" || v.envType == k.topic.envType) &&
		(v.env == "" || v.env == k.topic.env) && (v.course == "" || v.course == k.course)
}

func (v view) keepsJob(j *job) bool { return v.keeps(countKeyOf(j)) }

// summary counts what v sees, per environment and course of a client
// (and frontend): O(buckets). Two clients' courses of one id are two
// rows, as they are two courses to the fair share and the caps.
func (x *queueIndex) summary(v view) *messages.QueueSummary {
	sum := &messages.QueueSummary{Counts: []messages.QueueCount{}}
	counts := map[countKey]*messages.QueueCount{}
	at := func(k countKey) *messages.QueueCount {
		c := counts[k]
		if c == nil {
			client, frontend, _ := strings.Cut(k.owner, ":")
			c = &messages.QueueCount{EnvironmentType: k.topic.envType, Environment: k.topic.env,
				ClientID: client, Frontend: frontend, CourseID: k.course}
			counts[k] = c
		}
		return c
	}
	for k, s := range x.buckets {
		if v.keeps(k.countKey) {
			at(k.countKey).Waiting += s.Len()
			sum.Waiting += s.Len()
		}
	}
	for k, n := range x.runningBy {
		if v.keeps(k) {
			at(k).Running += n
			sum.Running += n
		}
	}
	for _, c := range counts {
		sum.Counts = append(sum.Counts, *c)
	}
	slices.SortFunc(sum.Counts, func(x, y messages.QueueCount) int {
		return cmp.Or(cmp.Compare(x.EnvironmentType, y.EnvironmentType), cmp.Compare(x.Environment, y.Environment),
			cmp.Compare(x.CourseID, y.CourseID), cmp.Compare(x.ClientID, y.ClientID), cmp.Compare(x.Frontend, y.Frontend))
	})
	return sum
}

// runningJobs is what v sees of the jobs holding slots, by dispatch:
// O(running), which the slots bound.
func (x *queueIndex) runningJobs(v view) []*job {
	var out []*job
	for j := range x.running {
		if v.keepsJob(j) {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b *job) int { return cmp.Compare(a.dispatchSeq, b.dispatchSeq) })
	return out
}
