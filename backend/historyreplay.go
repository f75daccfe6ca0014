package backend

import "github.com/ingo-grader/ingo/messages"

// A record handed to the History is stored in the background, and the
// journal forgets a delivered job only once its record is settled. A
// crash (kill -9) between the two loses the History's buffer, not the
// journal's JobFinished: so every job a replay finds finished is handed
// to the History again. The History keeps one record per job (one message
// per subject, message ids made of the job id and its finish time), so a
// record stored before the crash is replaced by the same record, never
// kept twice.

// replayBatch bounds the replayed records handed over per tick, well
// within the History's buffer (history.Options.Buffer), so that a
// backlog of many thousands is stored over a few ticks instead of
// overflowing it.
const replayBatch = 4096

// replayedHistory holds the records of the jobs replayed as finished
// until they are handed over, in finish order.
type replayedHistory struct {
	owed  map[string]*messages.JobRecord
	order []string
}

// replayHistory notes the record of a job that t, being replayed,
// finishes. Called before apply(t), which forgets the job.
func (b *Backend) replayHistory(t Transition) {
	f, ok := t.(*JobFinished)
	if !ok || b.cfg.History == nil {
		return
	}
	j := b.jobs[f.Result.JobID]
	if j == nil {
		return
	}
	rec := b.historyRecord(j, f.Result)
	// The first finish time: the same message ids as the first store.
	rec.FinishedAt = f.At.UnixMilli()
	if b.replayed.owed == nil {
		b.replayed.owed = make(map[string]*messages.JobRecord)
	}
	b.replayed.owed[rec.JobID] = rec
	b.replayed.order = append(b.replayed.order, rec.JobID)
}

// feedHistory hands up to replayBatch replayed records to the History.
func (b *Backend) feedHistory() {
	r := &b.replayed
	n := 0
	for ; n < len(r.order) && n < replayBatch; n++ {
		id := r.order[n]
		if rec := r.owed[id]; rec != nil {
			delete(r.owed, id)
			b.cfg.History.Add(rec)
		}
	}
	if n == 0 {
		return
	}
	clear(r.order[:n])
	if r.order = r.order[n:]; len(r.order) == 0 {
		r.order, r.owed = nil, nil // the backlog's memory goes with it
	}
}
