package history

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/messages"
)

// maxInFlight bounds the records published and not acknowledged yet.
const maxInFlight = 4096

// retries: a record whose ack did not come is published again this many
// times (the duplicate window makes a late first store count once).
const retries = 3

// inflight is one record's two messages, published, awaiting their acks.
type inflight struct {
	jobID string
	msgs  [2]*nats.Msg
	acks  [2]jetstream.PubAckFuture // nil where the publish itself failed
}

// encode returns the record's messages: the whole record (its archive
// dropped over the bound) and its summary.
func (st *Store) encode(r *messages.JobRecord) ([2]*nats.Msg, error) {
	whole := *r
	if n := int64(len(whole.Archive)); n > st.opts.MaxArchive {
		whole.Archive, whole.ArchiveDropped = nil, n
	}
	var out [2]*nats.Msg
	for i, rec := range []messages.JobRecord{whole, r.Summarize()} {
		data, err := messages.Encode(&messages.BackendHistory{Jobs: []messages.JobRecord{rec}})
		if err != nil {
			return out, fmt.Errorf("encode: %w", err)
		}
		subject := st.subj.HistoryJob(r.JobID)
		if i == 1 {
			subject = st.subj.HistoryList(messages.HistoryToken(r.CourseID), messages.HistoryToken(string(r.Result.Status)),
				messages.HistoryToken(r.ClientID), r.JobID)
		}
		m := nats.NewMsg(subject)
		m.Data = data
		m.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s.%d.%d", r.JobID, r.FinishedAt, i))
		out[i] = m
	}
	return out, nil
}

// publisher publishes what Add handed over, without waiting for acks.
// It ends when Close closed in, after closing acks.
func (st *Store) publisher() {
	defer st.workers.Done()
	defer close(st.acks)
	for r := range st.in {
		msgs, err := st.encode(r)
		if err != nil {
			st.fail(r.JobID, err)
			st.settle(r.JobID)
			continue
		}
		f := inflight{jobID: r.JobID, msgs: msgs}
		for i, m := range msgs {
			f.acks[i], _ = st.js.PublishMsgAsync(m) // a failed publish is retried by the follower
		}
		st.acks <- f
	}
}

// follower waits for each record's acks in order, publishes again what
// was not stored, and settles the record. It ends when acks is closed.
func (st *Store) follower() {
	defer st.workers.Done()
	for f := range st.acks {
		var err error
		for i := range f.msgs {
			if e := st.await(f.acks[i], f.msgs[i]); e != nil {
				err = e
			}
		}
		if err != nil {
			st.fail(f.jobID, err)
		} else {
			st.written.Add(1)
		}
		st.settle(f.jobID)
	}
}

// await returns once m is stored, publishing it again (synchronously: the
// server or the stream leader is in trouble) when its ack did not come.
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
