package backend

import (
	"fmt"
	"math"

	"github.com/ingo-grader/ingo/internal/heapsize"
	"github.com/ingo-grader/ingo/messages"
)

// A deadline's queue is mostly students' files: a job's description with
// its inputs is a few KiB, its head (JobHead) a few hundred bytes. With a
// JobLoader journal, the backend keeps the descriptions of at most
// Config.QueueMemoryJobs live jobs; beyond that, a newly queued job's
// description is dropped (spilled) once its JobQueued is stored, and read
// back from the journal when the job is dispatched. A replay leaves every
// description in the journal. The loop never spills what the journal has
// not stored yet: it could not be read back.

// spill is a description to drop once the journal stored up to after.
type spill struct {
	j     *job
	after uint64
}

// noteQueued counts a new job's description (size bytes as its client
// sent it) and, past either bound, marks it to be spilled.
func (b *Backend) noteQueued(j *job, size int) {
	if j.desc == nil {
		return
	}
	b.hot++
	// As decoded: a frontend chooses its values' shape, and small maps
	// hold a hundred times their bytes on the wire.
	held := int64(size)
	if b.cfg.QueueMemoryBytes > 0 {
		held = max(held, heldBytes(&j.desc.JobDescription))
	}
	j.descBytes = uint32(min(held, math.MaxUint32))
	b.hotBytes += int64(j.descBytes)
	overJobs := b.cfg.QueueMemoryJobs > 0 && b.hot > b.cfg.QueueMemoryJobs
	overBytes := b.cfg.QueueMemoryBytes > 0 && b.hotBytes > b.cfg.QueueMemoryBytes
	if b.loader == nil || !overJobs && !overBytes {
		return
	}
	b.spills = append(b.spills, spill{j: j, after: b.out.appended})
}

// noteGone uncounts a job that left the table.
func (b *Backend) noteGone(j *job) {
	if j.desc != nil {
		b.hot--
		b.hotBytes -= int64(j.descBytes)
		j.descBytes = 0
	}
}

// spillStored drops the marked descriptions whose records are stored.
func (b *Backend) spillStored() {
	if len(b.spills) == 0 {
		return
	}
	stored := b.out.appended // a synchronous journal stored everything
	if b.async != nil {
		stored = b.async.Stored()
	}
	n := 0
	for _, s := range b.spills {
		if s.after > stored {
			break
		}
		n++
		if b.jobs[s.j.id()] != s.j || s.j.desc == nil || s.j.phase != phaseWaiting {
			continue // gone, or dispatched meanwhile: it needs the description
		}
		s.j.desc = nil
		b.hot--
		b.hotBytes -= int64(s.j.descBytes)
		s.j.descBytes = 0
		b.stats.spilled.Add(1)
	}
	clear(b.spills[:n])
	b.spills = b.spills[n:]
	if len(b.spills) == 0 {
		b.spills = nil
	}
}

// loadDesc returns j's description, reading it back from the journal when
// it was spilled.
func (b *Backend) loadDesc(j *job) (*messages.ClientNewJob, error) {
	if j.desc != nil {
		return j.desc, nil
	}
	if b.loader == nil {
		return nil, fmt.Errorf("job %s has no description and the journal cannot read it back", j.id())
	}
	d, err := b.loader.LoadJob(j.id())
	if err != nil {
		b.stats.loadErrors.Add(1)
		return nil, err
	}
	if d.JobID != j.id() {
		return nil, fmt.Errorf("the journal gave job %s for %s", d.JobID, j.id())
	}
	b.stats.loaded.Add(1)
	j.desc = d
	b.hot++
	return d, nil
}

// unload drops a description read back from the journal (loadDesc),
// which still holds it: kept, a deadline's re-queued jobs would hold
// theirs beyond backend.queue-memory-jobs and -bytes, which count only
// what arrives.
func (b *Backend) unload(j *job) {
	if j.desc != nil && j.descBytes == 0 {
		j.desc = nil
		b.hot--
	}
}

// previousState is the state the job started from, kept in results that
// the grader did not produce (killed, crash), as INGInious does (#743).
// A description that cannot be read back gives none: the result still
// goes out.
func (b *Backend) previousState(j *job) string {
	d, err := b.loadDesc(j)
	if err != nil {
		b.log.Warn("reading a job's description back from the journal failed; its previous state is left out", "job", j.id(), "err", err)
		return ""
	}
	s, _ := d.InputData["@state"].(string)
	return s
}

// heldBytes estimates what d's free-form values (inputs, task problems)
// hold in memory once decoded: from about as many bytes as on the wire
// (long texts, files) to a hundred times more (small maps and lists, 3
// bytes of CBOR each). O(values), bounded by one message's items.
func heldBytes(d *messages.JobDescription) int64 {
	return heapsize.Of(d.InputData) + heapsize.Of(d.TaskProblems)
}
