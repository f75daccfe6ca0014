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

// maxGroup bounds the records published as one group (see group).
const maxGroup = 64

// retries: a record not proven stored is published this many times at
// most (a late first store and the second are one record).
const retries = 3

// group is records published together, in order on one connection: the
// first and the last with an ack, the others without. The stream stores
// one connection's messages in order and numbers each it stores, and the
// active backend is its only writer, so the last's sequence minus the
// first's is len-1 exactly when every one was stored; otherwise (one
// dropped by a full ingest queue, another writer's record in between, an
// ack that did not come) each is published again with its own ack.
// Acks for every record were about 6% of the backend's CPU per job at a
// deadline's rate.
type group struct {
	jobIDs      []string
	msgs        []*nats.Msg
	first, last jetstream.PubAckFuture // nil where the publish failed; last nil for one record
	failed      bool                   // a publish failed
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

// publisher publishes what Add handed over, in groups of what is queued,
// without waiting for acks. It ends when Close closed in, after closing
// acks.
func (st *Store) publisher() {
	defer st.workers.Done()
	defer close(st.acks)
	for r := range st.in {
		g := &group{}
		st.add(g, r)
	more:
		for len(g.msgs) < maxGroup {
			select {
			case r, ok := <-st.in:
				if !ok {
					break more
				}
				st.add(g, r)
			default:
				break more
			}
		}
		if len(g.msgs) == 0 {
			continue
		}
		st.publish(g)
		st.acks <- g
	}
}

// add encodes r into g; a record that cannot be encoded fails at once.
func (st *Store) add(g *group, r *messages.JobRecord) {
	m, err := st.encode(r)
	if err != nil {
		st.fail(r.JobID, err)
		st.settle(r.JobID)
		return
	}
	g.jobIDs = append(g.jobIDs, r.JobID)
	g.msgs = append(g.msgs, m)
}

// publish sends g's messages; a failed publish is retried by the follower.
func (st *Store) publish(g *group) {
	var err error
	for i, m := range g.msgs {
		switch i {
		case 0:
			g.first, err = st.js.PublishMsgAsync(m)
		case len(g.msgs) - 1:
			g.last, err = st.js.PublishMsgAsync(m)
		default:
			err = st.js.Conn().PublishMsg(m)
		}
		g.failed = g.failed || err != nil
	}
}

// follower waits for each group's acks in order, publishes again what may
// not have been stored, and settles the records. It ends when acks is
// closed.
func (st *Store) follower() {
	defer st.workers.Done()
	for g := range st.acks {
		if !g.failed && st.stored(g) {
			st.written.Add(uint64(len(g.msgs)))
			for _, id := range g.jobIDs {
				st.settle(id)
			}
			continue
		}
		st.republished.Add(uint64(len(g.msgs)))
		for i, m := range g.msgs {
			if err := st.republish(m); err != nil {
				st.fail(g.jobIDs[i], err)
			} else {
				st.written.Add(1)
			}
			st.settle(g.jobIDs[i])
		}
	}
}

// stored says that every record of g was stored: its acks came, and their
// sequences are as far apart as the records.
func (st *Store) stored(g *group) bool {
	first, ok := ackOf(g.first)
	if !ok || len(g.msgs) == 1 {
		return ok
	}
	last, ok := ackOf(g.last)
	return ok && last.Sequence-first.Sequence == uint64(len(g.msgs)-1)
}

func ackOf(f jetstream.PubAckFuture) (*jetstream.PubAck, bool) {
	if f == nil {
		return nil, false
	}
	select {
	case a := <-f.Ok():
		return a, true
	case <-f.Err():
		return nil, false
	}
}

// republish publishes m again, each time waiting for its ack (the server
// or the stream leader is in trouble, or a group could not be proven
// stored). A late first store and the second are one record: the second
// replaces it.
func (st *Store) republish(m *nats.Msg) error {
	var err error
	for try := range retries {
		if try > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), st.opts.Timeout)
		_, err = st.js.PublishMsg(ctx, m)
		cancel()
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("store %s: %w", m.Subject, err)
}
