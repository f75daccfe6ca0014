package journal

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/messages"
)

var _ backend.JobLoader = (*Journal)(nil)

// LoadJob reads a live job's description back from its JobQueued, the
// first of its records (backend.JobLoader): the backend keeps only the
// heads of a large queue. The liveness knows where that record is; a
// carry may move it meanwhile, and the read is made again.
func (j *Journal) LoadJob(jobID string) (*messages.ClientNewJob, error) {
	ctx, cancel := context.WithTimeout(context.Background(), j.opts.Timeout)
	defer cancel()
	var last error
	for range 3 {
		j.live.mu.Lock()
		seq, ok := j.live.first[jobID]
		j.live.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("journal: %s has no record: %w", jobID, backend.ErrNoDescription)
		}
		m, err := j.stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			last = err // carried and purged meanwhile: look again
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("journal: read %s: %w", jobID, err)
		}
		t, err := Decode(m.Data)
		if err != nil {
			return nil, fmt.Errorf("journal: record %d of %s: %v: %w", seq, jobID, err, backend.ErrNoDescription)
		}
		q, ok := t.(*backend.JobQueued)
		if !ok || q.Job.JobID != jobID {
			return nil, fmt.Errorf("journal: record %d is a %T of %s, not the JobQueued of %s: %w",
				seq, t, backend.TransitionJobID(t), jobID, backend.ErrNoDescription)
		}
		return q.Job, nil
	}
	return nil, fmt.Errorf("journal: read %s: %v: %w", jobID, last, backend.ErrNoDescription)
}
