package history

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/streamspace"
	"github.com/ingo-grader/ingo/messages"
)

// maxInFlight bounds the batches published and not acknowledged yet.
const maxInFlight = 4

// lingerFor is how long a batch gathers records after its first. Nobody
// waits for a record's store but the journal's forget of its job, so a
// deadline's records may leave a hundred to a message (at 10,000 jobs/s)
// instead of a few: the per-message costs (the store, the ack, the
// server's index) are most of what a stored message costs.
const lingerFor = 10 * time.Millisecond

// errGivenUp fails the records left when a batch failed for good while
// the store closed.
var errGivenUp = errors.New("not stored: the store closed while the server did not answer")

// retries: a batch whose ack did not come is published again this many
// times (a late first store and the second are one message: same
// subject, one message per subject).
const retries = 3

// inflight is a batch's two messages: its records published, awaiting
// their ack, and its summaries, published once the records are stored.
type inflight struct {
	jobs               []string
	id                 string
	records, summaries *nats.Msg
	ack                jetstream.PubAckFuture // the records'; nil where the publish itself failed
}

// encode returns a record's frame bodies: the whole record (its archive
// dropped over the bound) and its summary, and the summary itself.
func (st *Store) encode(r *messages.JobRecord) (record, summary []byte, sum messages.JobRecord, err error) {
	whole := *r
	if n := int64(len(whole.Archive)); n > st.opts.MaxArchive {
		whole.Archive, whole.ArchiveDropped = nil, n
	}
	if record, err = encodeRecord(&whole); err != nil {
		return nil, nil, sum, err
	}
	sum = r.Summarize()
	bound(&sum)
	if summary, err = encodeRecord(&sum); err != nil {
		return nil, nil, sum, err
	}
	return record, summary, sum, nil
}

// batchNamer names a writer's batches: the stream's space, then a random
// run id and a counter, so that no two writers' batches share a subject
// (one message per subject: a batch published again replaces itself, and
// only itself).
type batchNamer struct {
	run  string
	next uint64
}

func newBatchNamer() batchNamer {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return batchNamer{run: hex.EncodeToString(b[:])}
}

func (n *batchNamer) name(space string) string {
	n.next++
	return space + "." + n.run + "-" + strconv.FormatUint(n.next, 10)
}

// publisher publishes what Add handed over in batches, without waiting
// for acks: a batch is what came within lingerFor of its first record
// (or what fits). It ends when Close closed in, after closing acks.
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
		if st.givenUp.Load() {
			st.fail([]string{next.JobID}, errGivenUp)
			st.settle(next.JobID)
			next = nil
			continue
		}
		var b batch
		linger := time.NewTimer(lingerFor)
	fill:
		for next != nil {
			record, summary, sum, err := st.encode(next)
			switch {
			case err != nil:
				st.fail([]string{next.JobID}, err)
				st.settle(next.JobID)
			case !b.fits(len(record), len(summary)):
				break fill // next opens the next batch
			default:
				b.add(&sum, record, summary)
			}
			next = nil
			if b.empty() { // all failed: wait for another record
				break
			}
			select {
			case r, ok := <-st.in:
				if ok {
					next = r
				} // closed: leave now
			case <-linger.C:
			}
		}
		linger.Stop()
		if b.empty() {
			continue
		}
		st.slots <- struct{}{} // records gather in in meanwhile
		f := inflight{jobs: b.jobs}
		st.name(&f, names.name(*st.space.Load()), b.entries)
		f.records.Data, f.summaries.Data = b.records, b.summaries
		f.ack, _ = st.js.PublishMsgAsync(f.records) // a failed publish is retried by the follower
		st.acks <- f
	}
}

// follower waits for each batch's acks in order, publishes again what
// was not stored, and settles its records (the summaries come second: a
// batch listed has its records stored). It ends when acks is closed.
func (st *Store) follower() {
	defer st.workers.Done()
	for f := range st.acks {
		// The summaries go once the records are stored: a job listed
		// has its record.
		err := errGivenUp
		if !st.givenUp.Load() {
			err = st.await(f.ack, f.records)
			if space := st.respace(err); space != "" && !strings.HasPrefix(f.id, space+".") {
				_, run, _ := strings.Cut(f.id, ".") // after the space
				st.name(&f, space+"."+run, st.stash.take(f.id))
				err = st.await(nil, f.records)
			}
		}
		if err == nil {
			ack, _ := st.js.PublishMsgAsync(f.summaries) // a failed publish is retried by await
			err = st.await(ack, f.summaries)
		}
		if err != nil {
			st.stash.take(f.id)
			st.fail(f.jobs, err)
			if st.isClosed() { // the server is gone: Close need not wait for each batch left
				st.givenUp.Store(true)
			}
		} else {
			st.written.Add(uint64(len(f.jobs)))
			st.batches.Add(1)
		}
		st.settle(f.jobs...)
		<-st.slots
	}
}

// name names f id, its messages by it and its entries stashed by it.
func (st *Store) name(f *inflight, id string, entries []entry) {
	f.id = id
	st.stash.put(id, entries)
	if f.records == nil {
		f.records, f.summaries = &nats.Msg{}, &nats.Msg{}
	}
	f.records.Subject, f.summaries.Subject = st.subj.HistoryBatch(id), st.subj.HistorySummaries(id)
}

// noStream says whether a store failed for want of a stream taking its
// subject.
func noStream(err error) bool {
	return errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)
}

// respace reads the stream's space after a store failed with err for
// want of a stream taking its subject: another backend that moved an
// older layout's stream at the same moment (streamspace) may have won.
// It returns the stream's space ("" for any other error, or none read),
// in which every batch named after is, and the follower names again a
// batch of another.
func (st *Store) respace(err error) string {
	if !noStream(err) {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), st.opts.Timeout)
	defer cancel()
	now, err := streamspace.Current(ctx, st.stream, st.subj.HistoryBatch(""))
	if err != nil || now == "" {
		return ""
	}
	if now != *st.space.Load() {
		st.opts.Log.Warn("job history: the stream's subjects moved to another space; storing in it")
		st.space.Store(&now)
	}
	return now
}

// await returns once m is stored, publishing it again (synchronously: the
// server or the stream leader is in trouble) when its ack did not come. A
// late first store and the second are one message: the second replaces it.
// Once the store is closing it does not try again: a server that is gone
// would hold Close for every batch left.
func (st *Store) await(ack jetstream.PubAckFuture, m *nats.Msg) error {
	var err error
	if ack != nil {
		select {
		case <-ack.Ok():
			return nil
		case err = <-ack.Err():
		}
	}
	for i := range retries {
		if i > 0 || ack != nil {
			time.Sleep(200 * time.Millisecond)
		}
		if st.isClosed() || errors.Is(err, nats.ErrMaxPayload) {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), st.opts.Timeout)
		_, err = st.js.PublishMsg(ctx, m)
		cancel()
		if err == nil {
			return nil
		}
	}
	if err == nil {
		err = ErrClosed
	}
	return fmt.Errorf("store in %s: %w", st.subj.HistoryStream(), err)
}
