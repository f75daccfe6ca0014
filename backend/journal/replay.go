package journal

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/natsconn"
)

// A replay is a pipeline, because a restart at a deadline has a million
// records to read and the backend serves only once it has applied them
// all: one goroutine reads the stream's messages, a decoder per core
// decodes whole messages (a batch's records, DecodeLazy), and the
// caller's goroutine applies them in the stream's order. Decoding is half
// of a replay's CPU and needs nothing but the message.

// decodedMessage is one message of the stream, decoded by a worker.
type decodedMessage struct {
	seq     uint64
	subject string
	data    []byte
	items   []replayItem
	input   uint64 // its input message's sequence (a batch's), 0 when none
	err     error
	done    chan struct{} // closed once items or err are set
}

type replayItem struct {
	id string
	t  backend.Transition // nil for an older version's tombstone
}

// replay applies the records stored from sequence from on (0: all) and
// returns the stream's state before it read them.
func (j *Journal) replay(parent context.Context, from uint64, apply func(backend.Transition)) (jetstream.StreamState, error) {
	ctx, cancel := context.WithTimeout(parent, 5*time.Minute)
	defer cancel()
	info, err := j.stream.Info(ctx)
	if err != nil {
		return jetstream.StreamState{}, fmt.Errorf("journal: stream info: %w", err)
	}
	state := info.State
	j.live.mu.Lock()
	j.live.last = max(j.live.last, state.LastSeq)
	j.live.mu.Unlock()
	if state.Msgs == 0 || state.LastSeq < from {
		return state, nil
	}
	// No subject filter: the stream holds only the journal's subjects, and
	// with a filter the server counts the pending records by matching its
	// whole subject tree (one subject per job) for every batch, which made
	// the replay quadratic in the number of live jobs.
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if from > 0 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from}
	}
	c, err := j.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return state, fmt.Errorf("journal: consumer: %w", err)
	}
	// Messages pulls ahead (PullMaxMessages) while the records already
	// received are decoded: a Fetch per batch left both sides idle in
	// turn.
	it, err := c.Messages(jetstream.PullMaxMessagesWithBytesLimit(8192, 16<<20))
	if err != nil {
		return state, fmt.Errorf("journal: consumer: %w", err)
	}
	defer it.Stop()

	workers := max(1, runtime.GOMAXPROCS(0))
	ordered := make(chan *decodedMessage, 4*workers) // in stream order, for apply
	work := make(chan *decodedMessage, 4*workers)    // for the decoders
	stop := make(chan struct{})
	defer close(stop)
	go j.readMessages(it, max(from, 1)-1, state.LastSeq, ordered, work, stop)
	for range workers {
		go j.decodeMessages(work)
	}
	go func() { // the reader waits in Next: stopping the iterator ends it
		select {
		case <-ctx.Done():
			it.Stop()
		case <-stop:
		}
	}()
	for m := range ordered {
		<-m.done
		if err := ctx.Err(); err != nil {
			return state, fmt.Errorf("journal: replay stopped: %w", context.Cause(ctx))
		}
		if m.err != nil {
			return state, m.err
		}
		if m.input != 0 {
			j.live.noteInput(m.seq, m.input)
		}
		for _, item := range m.items {
			j.live.stored(item.id, m.seq)
			if item.t != nil {
				apply(item.t)
			}
		}
	}
	return state, nil
}

// replayIdle is how long the reader of a replay waits for the next
// message before it asks the stream whether anything up to the replay's
// end is left to read (a variable for the tests).
var replayIdle = 2 * time.Second

// readMessages hands the stream's messages after read, up to last, to the
// decoders and, in order, to apply. It ends at last, at the end of what
// the stream holds, on an error (as a message with err) or when stop is
// closed.
func (j *Journal) readMessages(it jetstream.MessagesContext, read, last uint64, ordered, work chan<- *decodedMessage, stop <-chan struct{}) {
	defer close(ordered)
	defer close(work)
	send := func(m *decodedMessage) bool {
		select {
		case ordered <- m:
		case <-stop:
			return false
		}
		if m.err != nil {
			close(m.done)
			return false
		}
		select {
		case work <- m:
			return true
		case <-stop:
			return false
		}
	}
	for {
		m, err := it.Next(jetstream.NextMaxWait(replayIdle))
		if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			// Silence is not the end: a server slow to answer (a standby
			// preloading while the cluster reacts to the active backend's
			// loss took over 2 s for the first message) would otherwise
			// leave the queue empty, every job of the journal forgotten by
			// the backend that takes over. The end is only what the stream
			// no longer holds (a compaction purged records below last).
			more, err := j.unreadUpTo(read, last)
			if err != nil {
				send(&decodedMessage{err: err, done: make(chan struct{})})
				return
			}
			if !more {
				return
			}
			j.opts.Log.Warn("journal: the replay waits for the stream's next message", "read", read, "up_to", last, "waited", replayIdle)
			continue
		}
		if err != nil {
			send(&decodedMessage{err: fmt.Errorf("journal: read: %w", err), done: make(chan struct{})})
			return
		}
		meta, err := m.Metadata()
		if err != nil {
			send(&decodedMessage{err: fmt.Errorf("journal: metadata: %w", err), done: make(chan struct{})})
			return
		}
		if natsconn.ForeignStored(m.Headers(), m.Data()) {
			// Stored by the server on somebody's behalf (a JetStream
			// answer sent with the journal's subject as its reply): not a
			// record. Refusing the whole journal for it would let any
			// identity that may ask JetStream anything stop the backend
			// for good.
			j.opts.Log.Warn("journal: a message the backend did not write, skipped", "seq", meta.Sequence.Stream, "subject", m.Subject(), "bytes", len(m.Data()))
		} else if !send(&decodedMessage{seq: meta.Sequence.Stream, subject: m.Subject(), data: m.Data(), done: make(chan struct{})}) {
			return
		}
		read = meta.Sequence.Stream
		if read >= last || meta.NumPending == 0 {
			return
		}
	}
}

// unreadUpTo says whether the stream still holds a message after read and
// no later than last. Records are only removed from the stream's front
// (the compactor purges up to a sequence; MaxAge and the byte bound take
// the oldest), so what lies between its first sequence and its last is
// all there.
func (j *Journal) unreadUpTo(read, last uint64) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), j.opts.Timeout)
	defer cancel()
	info, err := j.stream.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("journal: replay: stream info: %w", err)
	}
	next := max(read+1, info.State.FirstSeq)
	return info.State.Msgs > 0 && next <= last && next <= info.State.LastSeq, nil
}

// decodeMessages decodes the messages of work until it is closed.
func (j *Journal) decodeMessages(work <-chan *decodedMessage) {
	prefix := j.subj.Journal("")
	for m := range work {
		if j.isBatch(m.subject) {
			m.input, m.err = eachStored(m.data, func(r storedRecord) error {
				t, err := j.decodeReplayed(m.seq, r.id, r.data)
				m.items = append(m.items, replayItem{id: r.id, t: t})
				return err
			})
		} else {
			// An older journal's message: one record on its job's subject.
			id := strings.TrimPrefix(m.subject, prefix)
			t, err := j.decodeReplayed(m.seq, id, m.data)
			m.items, m.err = []replayItem{{id: id, t: t}}, err
		}
		if m.err != nil {
			m.err = fmt.Errorf("journal: message %d on %s: %w", m.seq, m.subject, m.err)
		}
		m.data = nil
		close(m.done)
	}
}

// decodeReplayed decodes the record of job id that a replay read in the
// message at seq. A nil transition is skipped.
func (j *Journal) decodeReplayed(seq uint64, id string, record []byte) (backend.Transition, error) {
	if len(record) == 0 {
		return nil, nil // an older version's tombstone
	}
	t, err := DecodeLazy(record)
	if errors.Is(err, errClaimOfAttemptZero) {
		j.opts.Log.Warn("journal: a record skipped", "seq", seq, "job", id, "why", err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if got := backend.TransitionJobID(t); got != id {
		return nil, fmt.Errorf("%w: a record of %s filed under %s", ErrMalformed, got, id)
	}
	return t, nil
}
