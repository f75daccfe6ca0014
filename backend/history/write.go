package history

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/messages"
)

// maxInFlight bounds the batches published and not acknowledged yet.
const maxInFlight = 256

// retries: a batch whose ack did not come is published again this many
// times (a late first store and the second are one message: same
// subject, one message per subject).
const retries = 3

// inflight is one batch's message, published, awaiting its ack.
type inflight struct {
	jobs []string
	msg  *nats.Msg
	ack  jetstream.PubAckFuture // nil where the publish itself failed
}

// encode returns a record's frame bodies: the whole record (its archive
// dropped over the bound) and its summary.
func (st *Store) encode(r *messages.JobRecord) (record, summary []byte, err error) {
	whole := *r
	if n := int64(len(whole.Archive)); n > st.opts.MaxArchive {
		whole.Archive, whole.ArchiveDropped = nil, n
	}
	if record, err = encodeRecord(&whole); err != nil {
		return nil, nil, err
	}
	sum := r.Summarize()
	bound(&sum)
	if summary, err = encodeRecord(&sum); err != nil {
		return nil, nil, err
	}
	return record, summary, nil
}

// batchNamer names a writer's batches: a random run id and a counter,
// so that no two writers' batches share a subject (one message per
// subject: a batch published again replaces itself, and only itself).
type batchNamer struct {
	run  string
	next uint64
}

func newBatchNamer() batchNamer {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return batchNamer{run: hex.EncodeToString(b[:])}
}

func (n *batchNamer) name() string {
	n.next++
	return n.run + "-" + strconv.FormatUint(n.next, 10)
}

// publisher publishes what Add handed over in batches, without waiting
// for acks: a batch is what queued up while the one before was being
// published, so a lone record leaves at once and a deadline's leave many
// to a message. It ends when Close closed in, after closing acks.
func (st *Store) publisher() {
	defer st.workers.Done()
	defer close(st.acks)
	names := newBatchNamer()
	var next *messages.JobRecord // read, and not in the batch before
	for {
		if next == nil {
			r, ok := <-st.in
			if !ok {
				return
			}
			next = r
		}
		var b batch
	fill:
		for next != nil {
			record, summary, err := st.encode(next)
			switch {
			case err != nil:
				st.fail([]string{next.JobID}, err)
				st.settle(next.JobID)
			case !b.fits(len(record), len(summary)):
				break fill // next opens the next batch
			default:
				b.add(next.JobID, record, summary)
			}
			next = nil
			select {
			case r, ok := <-st.in:
				if ok {
					next = r
				}
			default:
			}
		}
		if b.empty() {
			continue
		}
		m := b.message(st.subj.HistoryBatch(names.name()))
		ack, _ := st.js.PublishMsgAsync(m) // a failed publish is retried by the follower
		st.acks <- inflight{jobs: b.jobs, msg: m, ack: ack}
	}
}

// follower waits for each batch's acks in order, publishes again what
// was not stored, and settles its records. It ends when acks is closed.
func (st *Store) follower() {
	defer st.workers.Done()
	for f := range st.acks {
		if err := st.await(f.ack, f.msg); err != nil {
			st.fail(f.jobs, err)
		} else {
			st.written.Add(uint64(len(f.jobs)))
		}
		st.settle(f.jobs...)
	}
}

// await returns once m is stored, publishing it again (synchronously: the
// server or the stream leader is in trouble) when its ack did not come. A
// late first store and the second are one message: the second replaces it.
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
