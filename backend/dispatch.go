package backend

import (
	"errors"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

func timeDuration(n int) time.Duration { return time.Duration(n) }

// dispatch fills free slots: repeatedly the least busy agent with a free
// slot takes the best waiting job among the environments it offers, as
// the fair share orders them (queue.go).
func (b *Backend) dispatch() {
	if b.queues.waiting == 0 {
		return
	}
	// Agents with free slots but no job for them this round.
	idle := map[string]bool{}
	for b.queues.waiting > 0 {
		a := b.leastBusy(idle)
		if a == nil {
			return
		}
		l := b.queues.best(a.topics, &b.share)
		if l == nil {
			idle[a.id] = true
			continue
		}
		if !b.assign(a, l.head()) {
			return
		}
	}
}

// leastBusy picks the agent with a free slot and the lowest share of busy
// slots; ties go to the one picked longest ago, so equal agents alternate.
func (b *Backend) leastBusy(skip map[string]bool) *agent {
	var best *agent
	for _, a := range b.agents {
		if a.free() <= 0 || skip[a.id] {
			continue
		}
		if best == nil {
			best = a
			continue
		}
		// Compare running/slots without division.
		l, r := len(a.running)*best.slots, len(best.running)*a.slots
		if l < r || (l == r && a.lastPick < best.lastPick) {
			best = a
		}
	}
	return best
}

// assign sends j's next attempt to a; false if the journal refused it.
func (b *Backend) assign(a *agent, j *job) bool {
	b.picks++
	a.lastPick = b.picks
	desc, err := b.loadDesc(j)
	if errors.Is(err, ErrNoDescription) {
		// Gone for good: waiting would hold its queue forever.
		b.log.Error("a job's description is not in the journal any more; it ends as crash", "job", j.id(), "err", err)
		b.finish(j, messages.NewJobResult(messages.StatusCrash,
			"The backend lost this job's description before it could run; please submit again.", ""))
		return true
	}
	if err != nil {
		// Leave it waiting, as when the journal refuses the assignment:
		// a read that fails now (a stream leader election) works later.
		b.log.Warn("reading a job's description back from the journal failed; it waits", "job", j.id(), "err", err)
		return false
	}
	a.nextSeq++
	t := &JobAssigned{JobID: j.id(), AgentID: a.id, Attempt: j.attempt + 1, AgentSeq: a.nextSeq,
		DispatchSeq: b.dispatchSeq + 1, At: b.now()}
	if err := b.commit(t); err != nil {
		// Leave it waiting; the next event or tick tries again.
		return false
	}
	b.observeDispatch(j, t.At)
	b.toAgent(a.id, &messages.BackendNewJob{JobDescription: desc.JobDescription, Attempt: j.attempt, Seq: j.agentSeq, Session: a.session})
	return true
}
