package history

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/messages"
)

// maxInFlight bounds the records published and not acknowledged yet.
const maxInFlight = 4096

// retries: a record whose ack did not come is published again this many
// times (a late first store and the second are one record).
const retries = 3

// inflight is one record's message, published, awaiting its ack.
type inflight struct {
	jobID string
	msg   *nats.Msg
	ack   jetstream.PubAckFuture // nil where the publish itself failed
}

// headerSummary carries a record's summary (its CBOR, base64) beside the
// whole record, so that a listing reads headers only.
const headerSummary = "Ingo-Summary"

// encode returns the record's message: on its listing subject, the whole
// record (its archive dropped over the bound) with its summary in a
// header. No message id: a record published again replaces itself (one
// message per subject), and the server keeps no duplicate window entry
// for each of a deadline's jobs.
func (st *Store) encode(r *messages.JobRecord) (*nats.Msg, error) {
	whole := *r
	if n := int64(len(whole.Archive)); n > st.opts.MaxArchive {
		whole.Archive, whole.ArchiveDropped = nil, n
	}
	data, err := encodeRecord(&whole)
	if err != nil {
		return nil, err
	}
	sum := r.Summarize()
	summary, err := encodeRecord(&sum)
	if err != nil {
		return nil, err
	}
	m := nats.NewMsg(st.subj.HistoryList(messages.HistoryToken(r.CourseID), messages.HistoryToken(string(r.Result.Status)),
		messages.HistoryToken(r.ClientID), r.JobID))
	m.Data = data
	m.Header[headerSummary] = []string{base64.RawStdEncoding.EncodeToString(summary)}
	return m, nil
}

func encodeRecord(r *messages.JobRecord) ([]byte, error) {
	data, err := messages.Encode(&messages.BackendHistory{Jobs: []messages.JobRecord{*r}})
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return data, nil
}

// publisher publishes what Add handed over, without waiting for acks.
// It ends when Close closed in, after closing acks.
func (st *Store) publisher() {
	defer st.workers.Done()
	defer close(st.acks)
	for r := range st.in {
		m, err := st.encode(r)
		if err != nil {
			st.fail(r.JobID, err)
			st.settle(r.JobID)
			continue
		}
		ack, _ := st.js.PublishMsgAsync(m) // a failed publish is retried by the follower
		st.acks <- inflight{jobID: r.JobID, msg: m, ack: ack}
	}
}

// follower waits for each record's acks in order, publishes again what
// was not stored, and settles the record. It ends when acks is closed.
func (st *Store) follower() {
	defer st.workers.Done()
	for f := range st.acks {
		if err := st.await(f.ack, f.msg); err != nil {
			st.fail(f.jobID, err)
		} else {
			st.written.Add(1)
		}
		st.settle(f.jobID)
	}
}

// await returns once m is stored, publishing it again (synchronously: the
// server or the stream leader is in trouble) when its ack did not come. A
// late first store and the second are one record: the second replaces it.
func (st *Store) await(ack jetstream.PubAckFuture, m *nats.Msg) error {
	var err error
	if ack != nil {
		select {
		case <-ack.Ok():
			return nil
		case err = <-ack.Err():
		}
	}
	for range retries {
		ctx, cancel := context.WithTimeout(context.Background(), st.opts.Timeout)
		_, err = st.js.PublishMsg(ctx, m)
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("store %s: %w", m.Subject, err)
}
