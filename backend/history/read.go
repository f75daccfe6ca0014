package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/messages"
)

// Viewer is who reads: an admin sees every job, a frontend (Admin false)
// the jobs its ClientID submitted.
type Viewer struct {
	ClientID string
	Admin    bool
}

func (v Viewer) sees(r *messages.JobRecord) bool { return v.Admin || r.ClientID == v.ClientID }

// Get returns a job's whole record: where the index says it is, one
// direct get of its batch's records by subject. A job the index does not
// hold yet is looked for again once the index has read the stream to its
// end (and, in the process that writes it, once its record is stored),
// so a record stored is found. A job of another client is ErrNotFound
// for a frontend, as one that is not there.
func (st *Store) Get(ctx context.Context, v Viewer, jobID string) (*messages.JobRecord, error) {
	if messages.ValidateID(jobID) != nil {
		return nil, ErrNotFound
	}
	r, err := st.get(ctx, jobID)
	if errors.Is(err, ErrNotFound) { // not stored or read yet, or stored again since
		st.waitSettled(ctx, jobID)
		if err := st.sync(ctx); err != nil {
			return nil, err
		}
		r, err = st.get(ctx, jobID)
	}
	if err != nil {
		return nil, err
	}
	if !v.sees(r) {
		return nil, ErrNotFound
	}
	return r, nil
}

func (st *Store) get(ctx context.Context, jobID string) (*messages.JobRecord, error) {
	e, ok := st.ix.lookup(jobID)
	if !ok {
		return nil, ErrNotFound
	}
	var data []byte
	var err error
	switch e.where {
	case onJobSubject:
		data, err = st.lastFor(ctx, st.subj.HistoryJob(jobID))
	case inMessage:
		var m *jetstream.RawStreamMsg
		if m, err = st.stream.GetMsg(ctx, e.seq()); err == nil {
			data = m.Data
		}
	case inBatch:
		if data, err = st.lastFor(ctx, st.subj.HistoryBatch(e.batch)); err == nil {
			if data, err = frameAt(data, e.pos()); err != nil {
				return nil, fmt.Errorf("history: record of %s: %w", jobID, err)
			}
		}
	}
	r, err := record(jobID, data, err)
	if err == nil && r.JobID != jobID {
		// Not the batch's name: it holds the stream's space, and this
		// error may reach the asker.
		return nil, fmt.Errorf("history: record %d of its batch is %s's, not %s's", e.pos(), r.JobID, jobID)
	}
	return r, err
}

// record decodes the record a read by job id returned (data, or its
// error err).
func record(jobID string, data []byte, err error) (*messages.JobRecord, error) {
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("history: read %s: %w", jobID, err)
	}
	r, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("history: record of %s: %w", jobID, err)
	}
	return r, nil
}

// lastFor is the payload of the last message on a literal subject: a
// direct get with the subject in its body.
func (st *Store) lastFor(ctx context.Context, subject string) ([]byte, error) {
	body, err := json.Marshal(struct {
		LastFor string `json:"last_by_subj"`
	}{subject})
	if err != nil {
		return nil, err
	}
	m, err := st.js.Conn().RequestWithContext(ctx, "$JS.API.DIRECT.GET."+st.subj.HistoryStream(), body)
	if err != nil {
		return nil, err
	}
	switch status := m.Header.Get("Status"); status {
	case "":
		return m.Data, nil
	case "404":
		return nil, jetstream.ErrMsgNotFound
	default:
		return nil, fmt.Errorf("direct get: status %s %s", status, m.Header.Get("Description"))
	}
}

// List returns a page of summaries, newest first, and the cursor of the
// next page (0: none): the index, once it has read the stream to its end,
// says which jobs; their summaries are read from the messages that hold
// them, each once (a page of a deadline's jobs is one or two batches).
func (st *Store) List(ctx context.Context, v Viewer, q *messages.ClientGetHistory) ([]messages.JobRecord, uint64, error) {
	limit := q.Limit
	if limit == 0 {
		limit = messages.DefaultHistoryPage
	}
	if err := st.sync(ctx); err != nil {
		return nil, 0, err
	}
	es, next := st.ix.page(v, q, limit)
	msgs := map[uint64]*jetstream.RawStreamMsg{}
	out := make([]messages.JobRecord, 0, len(es))
	for _, e := range es {
		r, err := st.summary(ctx, &e, msgs)
		if errors.Is(err, ErrNotFound) {
			continue // gone since (the retention)
		}
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *r)
	}
	return out, next, nil
}

// summary reads e's summary from the message at its sequence (msgs keeps
// those a page read): a frame of a batch's summaries, the summary of a
// record of one message per job (in its header), or the message itself
// (two messages per job).
func (st *Store) summary(ctx context.Context, e *entry, msgs map[uint64]*jetstream.RawStreamMsg) (*messages.JobRecord, error) {
	m, ok := msgs[e.seq()]
	if !ok {
		var err error
		if m, err = st.stream.GetMsg(ctx, e.seq()); errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, ErrNotFound
		} else if err != nil {
			return nil, fmt.Errorf("history: read %d: %w", e.seq(), err)
		}
		msgs[e.seq()] = m
	}
	data := m.Data
	switch e.where {
	case inBatch:
		f, err := frameAt(data, e.pos())
		if err != nil {
			return nil, fmt.Errorf("history: summary of %s: %w", e.jobID, err)
		}
		data = f
	case inMessage:
		h, _, err := summaryInHeader(m.Header)
		if err != nil {
			return nil, fmt.Errorf("history: summary of %s: %w", e.jobID, err)
		}
		data = h
	}
	r, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("history: summary of %s: %w", e.jobID, err)
	}
	if r.JobID != e.jobID {
		return nil, fmt.Errorf("history: the summary at %d/%d is %s's, not %s's", e.seq(), e.pos(), r.JobID, e.jobID)
	}
	return r, nil
}
