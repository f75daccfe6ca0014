package history

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
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

// Get returns a job's whole record: one read, the last message on its
// listing subjects whatever their course, status and client (the server
// finds it in its index of subjects, without scanning), or, for a record
// stored before records were one message, on the job's own subject. A job
// of another client is ErrNotFound for a frontend, as one that is not
// there.
func (st *Store) Get(ctx context.Context, v Viewer, jobID string) (*messages.JobRecord, error) {
	if messages.ValidateID(jobID) != nil {
		return nil, ErrNotFound
	}
	data, err := st.lastFor(ctx, st.subj.HistoryList("*", "*", "*", jobID))
	r, err := record(jobID, data, err)
	if err == nil && r.Summary { // stored before records were one message
		data, err = st.lastFor(ctx, st.subj.HistoryJob(jobID))
		r, err = record(jobID, data, err)
	}
	if err != nil {
		return nil, err
	}
	if !v.sees(r) {
		return nil, ErrNotFound
	}
	return r, nil
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

// lastFor is the payload of the last message on filter, which may hold
// wildcards: a direct get with the subject in its body (the client
// library's puts it in the request's subject, where no wildcard may be).
// A literal subject is read the same way.
func (st *Store) lastFor(ctx context.Context, filter string) ([]byte, error) {
	body, err := json.Marshal(struct {
		LastFor string `json:"last_by_subj"`
	}{filter})
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

func decode(data []byte) (*messages.JobRecord, error) {
	m, err := messages.Decode(data)
	if err != nil {
		return nil, err
	}
	h, ok := m.(*messages.BackendHistory)
	if !ok || len(h.Jobs) != 1 {
		return nil, fmt.Errorf("a %s, not one record", m.MessageName())
	}
	return &h.Jobs[0], nil
}

// consumerIdle: the server deletes a page's consumers this long after
// their last use.
const consumerIdle = 10 * time.Second

// firstWindow is the sequences a page reads first below its cursor; it
// doubles while a page finds too few.
const firstWindow = 256

// List returns a page of summaries, newest first, and the cursor of the
// next page (0: none).
func (st *Store) List(ctx context.Context, v Viewer, q *messages.ClientGetHistory) ([]messages.JobRecord, uint64, error) {
	limit := q.Limit
	if limit == 0 {
		limit = messages.DefaultHistoryPage
	}
	info, err := st.stream.Info(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("history: %w", err)
	}
	lo, hi := info.State.FirstSeq, info.State.LastSeq+1 // pages read [lo, hi)
	if q.Cursor > 0 {
		hi = min(hi, q.Cursor)
	}
	if q.Until > 0 {
		if s, ok, err := st.seqAt(ctx, time.UnixMilli(q.Until)); err != nil {
			return nil, 0, err
		} else if ok {
			hi = min(hi, s)
		}
	}
	if q.Since > 0 {
		s, ok, err := st.seqAt(ctx, time.UnixMilli(q.Since))
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			return nil, 0, nil // nothing stored since
		}
		lo = max(lo, s)
	}
	filter := st.subj.HistoryList(token(q.CourseID), token(string(q.Status)), "*", "*")
	if !v.Admin {
		filter = st.subj.HistoryList(token(q.CourseID), token(string(q.Status)), messages.HistoryToken(v.ClientID), "*")
	}
	var out []messages.JobRecord
	window := uint64(firstWindow)
	for hi > lo && len(out) < limit {
		from := lo
		if hi-lo > window {
			from = hi - window
		}
		got, err := st.read(ctx, filter, from, hi)
		if err != nil {
			return nil, 0, err
		}
		for i := len(got) - 1; i >= 0 && len(out) < limit; i-- {
			r := &got[i].rec
			if v.sees(r) && matches(q, r) {
				out = append(out, *r)
			}
			hi = got[i].seq // the next page starts below the last one looked at
		}
		if len(out) < limit {
			hi = from
		}
		window = min(window*2, 1<<20)
	}
	if hi <= lo {
		hi = 0
	}
	return out, hi, nil
}

// token is a filter's subject token: "*" for no filter.
func token(v string) string {
	if v == "" {
		return "*"
	}
	return messages.HistoryToken(v)
}

// matches checks the filters on the record itself: tokens may be shared.
func matches(q *messages.ClientGetHistory, r *messages.JobRecord) bool {
	return (q.CourseID == "" || r.CourseID == q.CourseID) &&
		(q.Status == "" || r.Result.Status == q.Status) &&
		(q.Since == 0 || r.FinishedAt >= q.Since) &&
		(q.Until == 0 || r.FinishedAt < q.Until)
}

type found struct {
	seq uint64
	rec messages.JobRecord
}

// read returns the summaries on filter within [from, to), in order.
func (st *Store) read(ctx context.Context, filter string, from, to uint64) ([]found, error) {
	c, err := st.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter},
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from, InactiveThreshold: consumerIdle,
		HeadersOnly: true})
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var out []found
	for {
		batch, err := c.FetchNoWait(256)
		if err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		n, pending, past := 0, uint64(0), false
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return nil, fmt.Errorf("history: %w", err)
			}
			pending = meta.NumPending
			if meta.Sequence.Stream >= to {
				past = true
				continue
			}
			r, err := st.summary(ctx, m.Headers(), meta.Sequence.Stream)
			if errors.Is(err, errUnreadable) {
				continue // not ours to fail a page for; the writer is the backend
			}
			if err != nil {
				return nil, err
			}
			out = append(out, found{seq: meta.Sequence.Stream, rec: *r})
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("history: %w", err)
		}
		if n == 0 || pending == 0 || past {
			slices.SortFunc(out, func(a, b found) int { return cmp.Compare(a.seq, b.seq) })
			return out, nil
		}
	}
}

// seqAt is the first sequence stored at or after t; ok false: none.
func (st *Store) seqAt(ctx context.Context, t time.Time) (uint64, bool, error) {
	c, err := st.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &t, InactiveThreshold: consumerIdle,
		HeadersOnly: true})
	if err != nil {
		return 0, false, fmt.Errorf("history: %w", err)
	}
	batch, err := c.FetchNoWait(1)
	if err != nil {
		return 0, false, fmt.Errorf("history: %w", err)
	}
	for m := range batch.Messages() {
		meta, err := m.Metadata()
		if err != nil {
			return 0, false, fmt.Errorf("history: %w", err)
		}
		return meta.Sequence.Stream, true, nil
	}
	return 0, false, nil
}

// errUnreadable: a message on a listing subject that holds no record.
var errUnreadable = errors.New("history: not a record")

// summary is the summary a listing read with headers only: in its header,
// or, for a summary stored before records were one message, the message
// itself, read by its sequence.
func (st *Store) summary(ctx context.Context, h nats.Header, seq uint64) (*messages.JobRecord, error) {
	data, err := base64.RawStdEncoding.DecodeString(h.Get(headerSummary))
	if err != nil || len(data) == 0 {
		m, err := st.stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, errUnreadable // gone since (retention, size bound)
		}
		if err != nil {
			return nil, fmt.Errorf("history: read %d: %w", seq, err)
		}
		data = m.Data
	}
	r, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUnreadable, err)
	}
	return r, nil
}
