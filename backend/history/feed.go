package history

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsconn"
)

// trimEvery: how often the index drops what the stream no longer holds
// when nobody reads it (every read does it too).
const trimEvery = time.Minute

// feed keeps the index: it reads the stream's summaries (and the records
// of earlier layouts' listing subjects) from its first message on, and
// follows it, until ctx ends. A failed read starts again
// after the last message read.
func (st *Store) feed(ctx context.Context) {
	defer st.readers.Done()
	for {
		err := st.feedOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		st.opts.Log.Warn("job history: reading the stream into the index failed; trying again", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (st *Store) feedOnce(ctx context.Context) error {
	// The summaries of every space's batches (two backends may have made
	// two; streamspace), and of the layouts before spaces.
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{
		st.subj.HistorySummaries("*.*"), st.subj.HistorySummaries("*"), st.subj.HistoryList("*", "*", "*", "*")}}
	if last := st.ix.readTo(); last > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, last+1
	}
	c, err := st.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return err
	}
	st.feedConsumer.Store(&c)
	it, err := c.Messages()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		m, err := it.Next()
		if err != nil {
			return err
		}
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		seq := meta.Sequence.Stream
		var es []entry
		if natsconn.ForeignStored(m.Headers(), m.Data()) {
			// Stored by the server on somebody's behalf (a JetStream answer
			// sent with a history subject as its reply): no backend wrote
			// it, and what it says of a job is not to be listed.
			err = errors.New("a JetStream answer that somebody sent here, not a backend's records")
		} else {
			es, err = st.entriesOf(m, seq, meta.Timestamp.UnixMilli())
		}
		if err != nil {
			st.opts.Log.Warn("job history: a message of the stream is not records; it is left out of the index",
				"subject", m.Subject(), "seq", seq, "err", err)
		}
		st.ix.add(seq, es)
	}
}

// entriesOf is what the index keeps of the message seq: a batch's
// summaries, or a record of an earlier layout.
func (st *Store) entriesOf(m jetstream.Msg, seq uint64, stored int64) ([]entry, error) {
	if id, ok := strings.CutPrefix(m.Subject(), st.subj.HistorySummaries("")); ok {
		es := st.stash.take(id) // this process wrote it
		if es == nil {
			var err error
			if es, err = summaryEntries(m.Data()); err != nil {
				return nil, err
			}
		}
		for i := range es {
			es[i].key, es[i].stored, es[i].batch = seq<<keyPosBits|uint64(i+1), stored, id
		}
		return es, nil
	}
	e, err := st.listedEntry(m)
	if err != nil {
		return nil, err
	}
	e.key, e.stored = seq<<keyPosBits, stored
	return []entry{e}, nil
}

// summaryEntries is the entries of a batch's summaries message.
func summaryEntries(data []byte) ([]entry, error) {
	sums, err := frames(data, maxBatchRecords)
	if err != nil {
		return nil, err
	}
	es := make([]entry, 0, len(sums))
	for _, s := range sums {
		e, err := entryOf(s)
		if err != nil {
			return nil, err
		}
		e.where = inBatch
		es = append(es, e)
	}
	return es, nil
}

// listedEntry is the entry of a message of one record of an earlier
// layout: the whole record, its summary in a header, or (two messages
// per job) the summary, the whole record on the job's own subject.
func (st *Store) listedEntry(m jetstream.Msg) (entry, error) {
	if data, ok, err := summaryInHeader(m.Headers()); ok {
		if err != nil {
			return entry{}, err
		}
		e, err := entryOf(data)
		e.where = inMessage
		return e, err
	}
	e, err := entryOf(m.Data())
	e.where = onJobSubject
	return e, err
}

// summaryInHeader is the summary a record of one message per job holds
// in its header; ok false: it holds none.
func summaryInHeader(h nats.Header) (data []byte, ok bool, err error) {
	v := h.Get(headerSummary)
	if v == "" {
		return nil, false, nil
	}
	if data, err = base64.RawStdEncoding.DecodeString(v); err != nil {
		return nil, true, fmt.Errorf("summary header: %w", err)
	}
	return data, true, nil
}

// entryOf is the entry of a summary's frame body.
func entryOf(summary []byte) (entry, error) {
	r, err := decode(summary)
	if err != nil {
		return entry{}, err
	}
	return entry{jobID: r.JobID, clientID: r.ClientID, courseID: r.CourseID, status: r.Result.Status,
		finished: r.FinishedAt}, nil
}

// sync returns once the index holds every message the stream held when
// it was called, and has dropped those it no longer holds. The stream's
// last message may be one the feed does not read (a batch's records
// before its summaries, a record of two messages per job): then the
// feed's consumer says when nothing it reads is left to send.
func (st *Store) sync(ctx context.Context) error {
	state, err := st.refresh(ctx)
	if err != nil {
		return err
	}
	if state.Msgs == 0 {
		return nil
	}
	last := state.LastSeq
	for {
		wctx, cancel := context.WithTimeout(ctx, syncPoll)
		err := st.ix.waitFor(wctx, last)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if c := st.feedConsumer.Load(); c != nil {
			ci, err := (*c).Info(ctx)
			if err == nil && ci.NumPending == 0 && st.ix.readTo() >= ci.Delivered.Stream {
				return nil
			}
		}
	}
}

// refresh asks the stream for its state, and drops from the index what
// it no longer holds.
func (st *Store) refresh(ctx context.Context) (jetstream.StreamState, error) {
	info, err := st.stream.Info(ctx)
	if err != nil {
		return jetstream.StreamState{}, fmt.Errorf("history: %w", err)
	}
	st.ix.trim(info.State.FirstSeq)
	return info.State, nil
}

// syncPoll: how long sync waits for the feed before it asks the feed's
// consumer whether anything is left to read.
const syncPoll = 20 * time.Millisecond

// trimmer drops from the index, every trimEvery, what the retention
// removed from the stream, until ctx ends.
func (st *Store) trimmer(ctx context.Context) {
	defer st.readers.Done()
	t := time.NewTicker(trimEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ictx, cancel := context.WithTimeout(ctx, st.opts.Timeout)
			_, _ = st.refresh(ictx) // the next read or tick tries again
			cancel()
			st.stash.expire()
		}
	}
}
