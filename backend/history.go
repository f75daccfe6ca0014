package backend

import (
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// History keeps every finished job's record, long after its result was
// delivered and the journal forgot it (backend/history, on JetStream).
// The backend hands it each job as the job finishes, and lets the journal
// forget a delivered job only once the history holds its record, so that
// a result delivered and acknowledged is still found in the history.
type History interface {
	// Add hands over a finished job's record. It is called from the event
	// loop and must not block: the record is stored in the background.
	Add(r *messages.JobRecord)
	// Settled says that jobID has no record on its way: stored, failed
	// for good (counted and logged by the History), or never added.
	Settled(jobID string) bool
}

// maxUnsettled bounds the forgets held back for records still on their
// way; beyond it the journal forgets at once (the history is far behind
// or failing, and the journal must not grow for it).
const maxUnsettled = 100_000

// historyRecord is j's record with its result r, taken as j finishes
// (nil without a History).
func (b *Backend) historyRecord(j *job, r *messages.BackendJobDone) *messages.JobRecord {
	if b.cfg.History == nil {
		return nil
	}
	rec := &messages.JobRecord{
		JobID: r.JobID, ClientID: j.client(), CourseID: j.head.CourseID, TaskID: j.head.TaskID,
		User: j.head.User, Launcher: j.head.Launcher, EnvironmentType: j.head.EnvironmentType,
		Environment: j.head.Environment, Attempts: j.attempt,
		SubmittedAt: j.queuedAt.time().UnixMilli(), JobResult: r.JobResult,
	}
	if j.phase != phaseWaiting {
		rec.Agent, rec.StartedAt = j.agentID, j.assignedAt.time().UnixMilli()
	}
	return rec
}

// addHistory hands a job that just finished to the History. Not part of
// apply: a replayed JobFinished is handed over again by feedHistory.
func (b *Backend) addHistory(rec *messages.JobRecord, at time.Time) {
	if rec == nil {
		return
	}
	rec.FinishedAt = at.UnixMilli()
	b.cfg.History.Add(rec)
}

// forgetDelivered lets the journal forget a delivered job, once the
// History holds its record; until then the forget waits (tickHistory).
func (b *Backend) forgetDelivered(jobID string) {
	rs, ok := b.cfg.Journal.(ResultStore)
	if !ok {
		return
	}
	if h := b.cfg.History; h != nil && !b.historySettled(jobID) && len(b.unsettled) < maxUnsettled {
		b.unsettled = append(b.unsettled, jobID)
		return
	}
	if err := rs.Forget(jobID); err != nil {
		b.log.Warn("journal could not forget a delivered job; a restart will send its result again", "job", jobID, "err", err)
	}
}

// historySettled says that jobID's record is neither owed to the History
// (replayed, not handed over yet) nor on its way there.
func (b *Backend) historySettled(jobID string) bool {
	return b.replayed.owed[jobID] == nil && b.cfg.History.Settled(jobID)
}

// tickHistory hands over more replayed records and forgets the delivered
// jobs whose records are now settled.
func (b *Backend) tickHistory() {
	b.feedHistory()
	if len(b.unsettled) == 0 {
		return
	}
	rs, _ := b.cfg.Journal.(ResultStore)
	keep := b.unsettled[:0]
	for _, id := range b.unsettled {
		if !b.historySettled(id) {
			keep = append(keep, id)
			continue
		}
		if err := rs.Forget(id); err != nil {
			b.log.Warn("journal could not forget a delivered job; a restart will send its result again", "job", id, "err", err)
		}
	}
	clear(b.unsettled[len(keep):])
	b.unsettled = keep
}
