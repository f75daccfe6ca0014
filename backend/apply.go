package backend

import (
	"fmt"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// commit records t in the journal, then applies it. Only the event loop
// calls it. On a journal error nothing changes and the caller refuses
// whatever asked for the transition. With an AsyncJournal, t is applied as
// soon as it is appended; what the loop sends from then on waits in the
// outbox until t is stored.
func (b *Backend) commit(t Transition) error {
	if _, derived := t.(*JobStarted); derived {
		// Not journaled: after a restart every job that was on an agent
		// waits for that agent's hello, which says whether it runs and
		// commits JobStarted again (reconcile). One store less per job.
		b.apply(t)
		return nil
	}
	if b.async != nil {
		n, err := b.async.Append(t)
		if err != nil {
			b.stats.journalErrors.Add(1)
			b.log.Error("journal refused a transition", "job", t.jobID(), "transition", fmt.Sprintf("%T", t), "err", err)
			return err
		}
		b.out.appended = n
		b.apply(t)
		return nil
	}
	if err := b.cfg.Journal.Record(t); err != nil {
		b.stats.journalErrors.Add(1)
		b.log.Error("journal refused a transition", "job", t.jobID(), "transition", fmt.Sprintf("%T", t), "err", err)
		return err
	}
	b.apply(t)
	return nil
}

// apply changes the state for t. It has no side effects beyond the state,
// so that replaying a journal rebuilds the same state without resending.
func (b *Backend) apply(t Transition) {
	switch t := t.(type) {
	case *JobQueued:
		id := t.jobID()
		if b.jobs[id] != nil || b.done[id] != nil {
			return // recorded twice (a retry after an unanswered store)
		}
		h, frontend := t.Head, t.Frontend
		if t.Job != nil {
			h, frontend = HeadOf(t.Job), t.Job.Frontend
		}
		j := &job{head: b.heads.head(h), desc: t.Job, owner: b.heads.of(messages.CourseOwner(t.ClientID, frontend)), seq: t.Seq, queuedAt: stampOf(t.At),
			phase: phaseWaiting, index: -1}
		b.jobs[id] = j
		b.noteQueued(j, len(t.Wire))
		b.sshDebugQueued(j)
		b.queues.push(j)
		b.share.wake(j, b.queues)
		b.queues.userChanged(j.leafKey().shareKey)
		if t.Seq > b.seq {
			b.seq = t.Seq
		}
	case *JobAssigned:
		j := b.jobs[t.JobID]
		if j == nil {
			return
		}
		if j.phase == phaseWaiting {
			b.queues.remove(j)
		} else {
			b.release(j, t.At) // a re-take after a loss whose requeue was not stored
		}
		j.phase, j.attempt, j.agentID = phaseAssigned, t.Attempt, t.AgentID
		b.share.add(j, 1, t.At)
		b.queues.userChanged(j.leafKey().shareKey)
		j.agentSeq, j.dispatchSeq, j.assignedAt, j.killing = t.AgentSeq, t.DispatchSeq, stampOf(t.At), false
		if a := b.agents[t.AgentID]; a != nil {
			if _, ok := a.running[t.JobID]; !ok {
				a.running[t.JobID] = j
				a.took(j)
			}
		}
		b.queues.index.started(j)
		if t.DispatchSeq > b.dispatchSeq {
			b.dispatchSeq = t.DispatchSeq
		}
	case *JobStarted:
		if j := b.jobs[t.JobID]; j != nil && j.attempt == t.Attempt {
			j.phase = phaseRunning
		}
	case *JobRequeued:
		j := b.jobs[t.JobID]
		if j == nil || j.phase == phaseWaiting {
			return
		}
		b.release(j, time.Time{}) // a lost attempt's hold is no run time
		j.phase, j.killing = phaseWaiting, false
		b.queues.push(j)
		b.share.wake(j, b.queues)
		b.queues.userChanged(j.leafKey().shareKey)
	case *JobKillRequested:
		if j := b.jobs[t.JobID]; j != nil {
			j.killing = true
		}
	case *JobFinished:
		id := t.Result.JobID
		j := b.jobs[id]
		if j == nil {
			return
		}
		agentID, attempt := j.agentID, j.attempt
		if j.phase == phaseWaiting {
			b.queues.remove(j)
			agentID = ""
		} else {
			b.release(j, t.At)
			b.learnRunTime(j.topic(), t.At.Sub(j.assignedAt.time()))
		}
		delete(b.jobs, id)
		b.noteGone(j)
		b.sshDebugGone(j)
		b.remember(j.client(), t)
		b.track(j.client(), id, t.At)
		if d := b.done[id]; d != nil {
			d.agentID, d.attempt = agentID, attempt
		}
	}
}

// release frees the slot an assigned job held on its agent, and its
// course's and user's share, at end (the transition's time; zero when it
// has none).
func (b *Backend) release(j *job, end time.Time) {
	b.queues.index.stopped(j)
	b.share.add(j, -1, end)
	b.queues.userChanged(j.leafKey().shareKey)
	if a := b.agents[j.agentID]; a != nil {
		if _, ok := a.running[j.id()]; ok {
			a.left(j)
			delete(a.running, j.id())
		}
	}
	// j.agentID stays: a waiting job's names the agent of its last
	// attempt, the only one whose hello may take it back (reconcile).
}

// remember keeps a finished job's id (and its result while within
// DoneMemory) for DoneRetention.
func (b *Backend) remember(clientID string, t *JobFinished) {
	r, wire := t.Result, t.Wire
	if wire == nil { // a journal's replay gives its bytes too; a result finish could not encode has none
		var err error
		if wire, err = messages.Encode(r); err != nil {
			// It could not be sent either (finish said so): nothing to
			// send again, but the id stays taken.
			b.log.Warn("a finished job's result does not encode; it is not kept for a resend", "job", r.JobID, "err", err)
		}
	}
	d := &doneJob{clientID: clientID, result: wire, at: t.At}
	b.done[r.JobID] = d
	b.doneOrder = append(b.doneOrder, r.JobID)
	if d.result != nil {
		b.doneBytes += d.resultSize()
	}
	// Over budget: forget the oldest results, keeping their ids. doneTrim
	// marks where results may still be held, so this stays O(1) amortised.
	for ; b.doneBytes > b.cfg.DoneMemory && b.doneTrim < len(b.doneOrder); b.doneTrim++ {
		if old := b.done[b.doneOrder[b.doneTrim]]; old != nil {
			b.dropResult(old)
		}
	}
}

// forgetDone drops finished jobs older than DoneRetention.
func (b *Backend) forgetDone() {
	cut := b.now().Add(-b.cfg.DoneRetention)
	n := 0
	for ; n < len(b.doneOrder); n++ {
		d := b.done[b.doneOrder[n]]
		if d == nil {
			continue
		}
		if d.at.After(cut) {
			break
		}
		if b.unacked[d.clientID][b.doneOrder[n]] != nil {
			// Still owed to its client: the id stays taken until the ack or
			// ResultRetention (dropUnacked deletes it then). The result is
			// read back from the journal if it must be sent again.
			d.orphan = true
			if _, durable := b.cfg.Journal.(ResultStore); durable {
				b.dropResult(d)
			}
			continue
		}
		b.dropResult(d)
		delete(b.done, b.doneOrder[n])
	}
	if n > 0 {
		b.doneOrder = append(b.doneOrder[:0:0], b.doneOrder[n:]...)
		b.doneTrim = max(0, b.doneTrim-n)
	}
}

// finish commits a job's final result and sends it to its client.
func (b *Backend) finish(j *job, r messages.JobResult) {
	done := &messages.BackendJobDone{JobID: j.id(), JobResult: r}
	ran := j.phase != phaseWaiting
	// Encoded once, for the journal and the client; an error (a result
	// the client could not be sent anyway) leaves both to encode it and
	// say so.
	wire, _ := messages.Encode(done)
	t := &JobFinished{Result: done, Wire: wire, At: b.now()}
	rec := b.historyRecord(j, done) // before commit releases its agent
	if err := b.commit(t); err != nil {
		return // the journal is down: the job stays where it was, and is retried
	}
	b.stats.finished.Add(1)
	b.observeFinish(j, r.Result.Status, ran, t.At)
	b.addHistory(rec, t.At)
	b.deliverEncoded(j.client(), done, wire)
}
