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
// first of its records, and the input message beside it (backend.JobLoader):
// the backend keeps only the heads of a large queue.
func (j *Journal) LoadJob(jobID string) (*messages.ClientNewJob, error) {
	ctx, cancel := context.WithTimeout(context.Background(), j.opts.Timeout)
	defer cancel()
	var err error
	for range 3 {
		var q *backend.JobQueued
		q, err = j.loadQueued(ctx, jobID)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // carried and purged meanwhile: look again
		}
		if err != nil {
			return nil, err
		}
		return q.Job, nil
	}
	return nil, fmt.Errorf("journal: read %s: %v: %w", jobID, err, backend.ErrNoDescription)
}

// loadQueued reads job id's JobQueued with its description. An input
// message not found is jetstream.ErrMsgNotFound, for LoadJob to look
// again.
func (j *Journal) loadQueued(ctx context.Context, jobID string) (*backend.JobQueued, error) {
	records, inputSeq, err := j.readJob(ctx, jobID, false)
	if err != nil {
		return nil, fmt.Errorf("journal: read %s: %w", jobID, err)
	}
	first := records[0]
	var t backend.Transition
	if first.input == 0 {
		t, err = Decode(first.data) // a record that holds its description
	} else {
		var job []byte
		job, err = j.description(ctx, inputSeq, first.input, jobID)
		if err != nil && !errors.Is(err, ErrMalformed) {
			// A read that failed; not found is looked for again (LoadJob).
			return nil, fmt.Errorf("journal: the input of %s: %w", jobID, err)
		}
		if err == nil {
			t, err = joinJob(first.data, job)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("journal: the first record of %s: %v: %w", jobID, err, backend.ErrNoDescription)
	}
	q, ok := t.(*backend.JobQueued)
	if !ok || q.Job.JobID != jobID {
		return nil, fmt.Errorf("journal: the first record of %s is a %T of %s, not its JobQueued: %w",
			jobID, t, backend.TransitionJobID(t), backend.ErrNoDescription)
	}
	return q, nil
}

// readJob returns job id's records in the message that holds its first
// record, or its last one (last), and that message's input sequence. The
// liveness knows where they are; a carry may move them meanwhile, and the
// read is made again. A job the journal has no record of is
// backend.ErrNoDescription.
func (j *Journal) readJob(ctx context.Context, id string, last bool) ([]storedRecord, uint64, error) {
	var err error
	for range 3 {
		seqs := j.live.seqs(id)
		if len(seqs) == 0 {
			return nil, 0, fmt.Errorf("no record: %w", backend.ErrNoDescription)
		}
		seq := seqs[0]
		if last {
			seq = seqs[len(seqs)-1]
		}
		var data []byte
		data, err = j.readMessage(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // carried and purged meanwhile: look again
		}
		if err != nil {
			return nil, 0, err
		}
		records, inputSeq, err := jobRecords(data, id)
		if err != nil {
			return nil, 0, fmt.Errorf("message %d: %v: %w", seq, err, backend.ErrNoDescription)
		}
		if len(records) == 0 {
			return nil, 0, fmt.Errorf("message %d holds no record of it: %w", seq, backend.ErrNoDescription)
		}
		return records, inputSeq, nil
	}
	return nil, 0, fmt.Errorf("%v: %w", err, backend.ErrNoDescription)
}

// readMessage reads the message at seq, from the batches read last when
// it is one of them (recent.go): the backend dispatches a queue roughly
// in the order it was stored, so one batch read serves the loads of its
// jobs.
func (j *Journal) readMessage(ctx context.Context, seq uint64) ([]byte, error) {
	return j.readThrough(ctx, &j.recent, j.stream, j.subj.JournalStream(), seq, isBatch)
}

// readThrough reads the message at seq of stream (named name) from cache
// when it is there, else from the stream, and keeps it in cache when keep
// says so (nil: always).
func (j *Journal) readThrough(ctx context.Context, cache *recentBatches, stream jetstream.Stream, name string, seq uint64, keep func([]byte) bool) ([]byte, error) {
	if data := cache.get(seq); data != nil {
		return data, nil
	}
	data, err := j.readFrom(ctx, stream, name, seq)
	if err != nil {
		return nil, err
	}
	if keep == nil || keep(data) {
		cache.put(seq, data)
	}
	return data, nil
}

// readRecord reads the journal stream's message at seq (readFrom).
func (j *Journal) readRecord(ctx context.Context, seq uint64) ([]byte, error) {
	return j.readFrom(ctx, j.stream, j.subj.JournalStream(), seq)
}

// readFrom reads the message at seq of stream (named name) with a direct
// get, which any replica answers. A replica that is behind (a cluster)
// may not have a message the quorum stored: "not found" is asked again of
// the stream's leader, through the JetStream API, before it is believed.
func (j *Journal) readFrom(ctx context.Context, stream jetstream.Stream, name string, seq uint64) ([]byte, error) {
	m, err := stream.GetMsg(ctx, seq)
	if err == nil {
		return m.Data, nil
	}
	if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, err
	}
	req, _ := json.Marshal(map[string]uint64{"seq": seq})
	resp, err := j.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+name, req)
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
