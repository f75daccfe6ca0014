package journal

import (
	"context"
	"encoding/json"
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
		data, err := j.readRecord(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			last = err // carried and purged meanwhile: look again
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("journal: read %s: %w", jobID, err)
		}
		t, err := Decode(data)
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

// readRecord reads the record at seq with a direct get, which any replica
// answers. A replica that is behind (a cluster) may not have a record the
// quorum stored: "not found" is asked again of the stream's leader,
// through the JetStream API, before it is believed.
func (j *Journal) readRecord(ctx context.Context, seq uint64) ([]byte, error) {
	m, err := j.stream.GetMsg(ctx, seq)
	if err == nil {
		return m.Data, nil
	}
	if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, err
	}
	req, _ := json.Marshal(map[string]uint64{"seq": seq})
	resp, err := j.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+j.subj.JournalStream(), req)
	if err != nil {
		return nil, err
	}
	var r struct {
		Message *struct {
			Data []byte `json:"data"` // base64 in JSON
		} `json:"message"`
		Error *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return nil, fmt.Errorf("journal: the stream leader's answer: %w", err)
	}
	switch {
	case r.Error != nil && r.Error.Code == 404:
		return nil, jetstream.ErrMsgNotFound
	case r.Error != nil:
		return nil, fmt.Errorf("journal: the stream leader: %s (%d)", r.Error.Description, r.Error.Code)
	case r.Message == nil:
		return nil, errors.New("journal: the stream leader's answer has no message")
	}
	return r.Message.Data, nil
}
