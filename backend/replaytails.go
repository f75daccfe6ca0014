package backend

// The journal purges the records below the first record of its oldest
// live job. A job queued before that one and delivered after it was
// queued has its first records below the purge, gone, and its last ones
// (assigned, finished) above it, kept: a tail. A replay meets the tail without the job's JobQueued, and apply
// ignores it; but the journal counts every job it reads as live until the
// backend forgets it, and the backend never would (the job is neither
// waiting, running nor owed to a client). Its compaction then stopped at
// the tail for good: the stream grew, and the next crash sent every
// result delivered since to its client again. So a replay notes the jobs
// it meets only by such records, and the journal forgets them once the
// replay is done.

// replayApply applies a replayed (or preloaded) transition, noting the
// tails of purged jobs.
func (b *Backend) replayApply(t Transition) {
	b.replayHistory(t)
	if _, queued := t.(*JobQueued); !queued {
		if id := t.jobID(); b.jobs[id] == nil && b.done[id] == nil {
			if b.tails == nil {
				b.tails = make(map[string]struct{})
			}
			b.tails[id] = struct{}{}
		}
	}
	b.apply(t)
}

// forgetTails lets the journal forget the tails the replay met: jobs it
// neither holds (waiting, on an agent) nor keeps a result of. A job id
// used again later in the stream is one of those, and stays.
func (b *Backend) forgetTails() {
	tails := b.tails
	b.tails = nil
	rs, ok := b.cfg.Journal.(ResultStore)
	if !ok || len(tails) == 0 {
		return
	}
	n := 0
	for id := range tails {
		if b.jobs[id] != nil || b.done[id] != nil {
			continue
		}
		if err := rs.Forget(id); err != nil {
			b.log.Warn("journal could not forget the tail of a delivered job; its records stay until the next restart", "job", id, "err", err)
			continue
		}
		n++
	}
	if n > 0 {
		b.log.Info("journal: forgot the last records of delivered jobs whose first ones were purged", "jobs", n)
	}
}
