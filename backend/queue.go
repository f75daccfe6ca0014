package backend

import "container/heap"

// topic names one queue: a job waits for an agent offering exactly this.
type topic struct{ envType, env string }

func (t topic) String() string { return t.envType + "/" + t.env }

// topicQueue is a binary heap of waiting jobs of one topic, ordered by
// priority then arrival. Jobs remember their index, so a kill removes a job
// in O(log n) instead of leaving it behind for a later pop to skip.
type topicQueue struct {
	topic topic
	jobs  []*job
}

func (q *topicQueue) Len() int { return len(q.jobs) }

func (q *topicQueue) Less(i, j int) bool { return q.jobs[i].before(q.jobs[j]) }

func (q *topicQueue) Swap(i, j int) {
	q.jobs[i], q.jobs[j] = q.jobs[j], q.jobs[i]
	q.jobs[i].index = i
	q.jobs[j].index = j
}

func (q *topicQueue) Push(x any) {
	j := x.(*job)
	j.index = len(q.jobs)
	q.jobs = append(q.jobs, j)
}

func (q *topicQueue) Pop() any {
	last := len(q.jobs) - 1
	j := q.jobs[last]
	q.jobs[last] = nil
	q.jobs = q.jobs[:last]
	j.index = -1
	return j
}

func (q *topicQueue) head() *job {
	if len(q.jobs) == 0 {
		return nil
	}
	return q.jobs[0]
}

// queues holds every topic's queue.
type queues struct {
	byTopic map[topic]*topicQueue
	waiting int
}

func newQueues() *queues { return &queues{byTopic: make(map[topic]*topicQueue)} }

func (qs *queues) get(t topic) *topicQueue {
	q := qs.byTopic[t]
	if q == nil {
		q = &topicQueue{topic: t}
		qs.byTopic[t] = q
	}
	return q
}

func (qs *queues) push(j *job) {
	heap.Push(qs.get(j.topic()), j)
	qs.waiting++
}

func (qs *queues) remove(j *job) {
	q := qs.byTopic[j.topic()]
	if q == nil || j.index < 0 || j.index >= len(q.jobs) || q.jobs[j.index] != j {
		return
	}
	heap.Remove(q, j.index)
	qs.waiting--
}

// best returns the queue, among the topics given, whose head should run
// first (priorities are global across topics, as in INGInious).
func (qs *queues) best(topics []topic) *topicQueue {
	var best *topicQueue
	for _, t := range topics {
		q := qs.byTopic[t]
		if q == nil || q.Len() == 0 {
			continue
		}
		if best == nil || q.head().before(best.head()) {
			best = q
		}
	}
	return best
}
