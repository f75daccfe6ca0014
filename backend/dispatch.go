package backend

import (
	"errors"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

func timeDuration(n int) time.Duration { return time.Duration(n) }

// dispatch fills free slots: repeatedly the least busy agent with a free
// slot takes the best waiting job among the environments it offers, as
// the fair share orders them (queue.go). The agents come from the index
// (agentindex.go), so a choice costs the same with ten agents or a
// thousand.
func (b *Backend) dispatch() {
	if b.queues.waiting == 0 {
		return
	}
	// Agents the index offered but with no job for them this round (none
	// should be: the index offers only agents of environments with jobs
	// waiting); out of the index until the round ends.
	var idle []*agent
	defer func() {
		for _, a := range idle {
			b.agentIdx.refile(a)
		}
	}()
	for b.queues.waiting > 0 {
		a := b.leastBusy()
		if b.agentIdx.check != nil {
			b.agentIdx.check(a, idle)
		}
		if a == nil {
			return
		}
		l := b.queues.best(a.open(), &b.share)
		if l == nil {
			idle = append(idle, a)
			b.agentIdx.forget(a)
			continue
		}
		ok := b.assign(a, l.head())
		b.agentIdx.refile(a) // its last pick, and its running set if assigned
		if !ok {
			return
		}
	}
}

// leastBusy picks the agent with a free slot, and a waiting job in an
// environment it offers, with the lowest share of busy slots; ties go to
// the one picked longest ago, so equal agents alternate.
func (b *Backend) leastBusy() *agent { return b.agentIdx.pick(b.queues) }

// assign sends j's next attempt to a; false if the journal refused it.
func (b *Backend) assign(a *agent, j *job) bool {
	b.picks++
	a.lastPick = b.picks
	readBack := j.desc == nil
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
	b.toAgent(a.id, &messages.BackendNewJob{JobDescription: desc.JobDescription, Attempt: j.attempt, Seq: j.agentSeq, Session: a.session, Client: j.client()})
	if readBack {
		// Sent: it was beyond the memory bounds, and is read back again
		// if it is ever needed (a re-queue, a killed job's state).
		b.unload(j)
	}
	return true
}
