package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/streamspace"
	"github.com/ingo-grader/ingo/messages"
)

// Defaults of Options.
const (
	DefaultRetention  = 30 * 24 * time.Hour
	DefaultMaxBytes   = 8 << 30
	DefaultMaxArchive = 512 << 10
)

// ErrNotFound says that a job is not in the history (never finished, past
// the retention, or not the asker's).
var ErrNotFound = errors.New("history: no such job")

// ErrClosed is returned for work handed over after Close.
var ErrClosed = errors.New("history: closed")

// Options configure a Store.
type Options struct {
	Prefix string
	// Retention is how long a record is kept (the stream's MaxAge).
	Retention time.Duration
	// MaxBytes bounds the stream; the oldest records go first.
	MaxBytes int64
	// MaxArchive bounds the archive a record keeps: 0 keeps none (an
	// archive of any size is dropped, the record says its size).
	// DefaultMaxArchive is backend.history-max-archive's default.
	MaxArchive int64
	// Replicas of the stream, as the journal's.
	Replicas int
	// Timeout of one store or read; 5 s.
	Timeout time.Duration
	// Buffer bounds the records waiting to be published; beyond, Add drops
	// (counted, logged). 65,536.
	Buffer int
	Log    *slog.Logger
}

// Stats are counters, readable from any goroutine.
type Stats struct {
	// Written and Failed count records; Batches the messages that stored
	// the written ones.
	Written, Failed, Batches uint64
}

// Store is the history on JetStream: it writes records (backend.History)
// and reads them (Get, List).
type Store struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	subj   messages.Subjects
	// space is the stream's (package internal/streamspace): the head of
	// every batch this process writes; the follower moves it when the
	// stream's moved (respace).
	space atomic.Pointer[string]
	opts  Options

	mu      sync.Mutex
	pending map[string]int // records added and not settled, by job id
	settled chan struct{}  // closed when records settle
	closed  bool

	in      chan *messages.JobRecord
	acks    chan inflight
	slots   chan struct{}  // one per batch in flight
	workers sync.WaitGroup // the writer's
	stash   stash          // the writer's entries, for the feed

	ix           *index
	feedConsumer atomic.Pointer[jetstream.Consumer] // the feed's, once made
	stopReads    context.CancelFunc
	readers      sync.WaitGroup // the index's feed and trimmer
	written      atomic.Uint64
	failed       atomic.Uint64
	batches      atomic.Uint64
	givenUp      atomic.Bool // closing, a batch failed for good: the rest fail at once
}

var _ backend.History = (*Store)(nil)

// Open creates the history stream, or updates its limits (a changed
// retention applies to the records already there), and starts the writer.
// Close stops it.
func Open(ctx context.Context, nc *nats.Conn, o Options) (*Store, error) {
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	// MaxArchive 0 keeps no archive, as an operator setting
	// backend.history-max-archive=0 means; the default is the setting's.
	o.MaxArchive = max(o.MaxArchive, 0)
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Buffer <= 0 {
		o.Buffer = 1 << 16
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4*maxInFlight), jetstream.WithPublishAsyncTimeout(o.Timeout))
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	subj := messages.NewSubjects(o.Prefix)
	cfg := jetstream.StreamConfig{
		Name:        subj.HistoryStream(),
		Description: "ingo job history: every finished job's record and summary",
		// Subjects: the space's (streamspace), below.
		Storage:           jetstream.FileStorage,
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxBytes:          o.MaxBytes,
		MaxAge:            o.Retention,
		MaxMsgsPerSubject: 1,
		Replicas:          o.Replicas,
		AllowDirect:       true,
	}
	s, space, err := streamspace.Open(ctx, js, cfg, subj.HistoryBatch(""), func(space string) []string {
		return []string{subj.HistoryBatch(space + ".*"), subj.HistorySummaries(space + ".*")}
	})
	if err != nil {
		return nil, fmt.Errorf("history: stream %s: %w", cfg.Name, natsconn.ExplainStore(err))
	}
	st := &Store{js: js, stream: s, subj: subj, opts: o, pending: map[string]int{}, settled: make(chan struct{}), ix: newIndex(),
		in: make(chan *messages.JobRecord, o.Buffer), acks: make(chan inflight, maxInFlight), slots: make(chan struct{}, maxInFlight)}
	st.space.Store(&space)
	st.workers.Add(2)
	go st.publisher() // ends when Close closes in
	go st.follower()  // ends when the publisher closes acks
	rctx, stop := context.WithCancel(context.Background())
	st.stopReads = stop
	st.readers.Add(2)
	go st.feed(rctx)    // ends when Close cancels rctx
	go st.trimmer(rctx) // too
	return st, nil
}

// Stats returns the counters.
func (st *Store) Stats() Stats {
	return Stats{Written: st.written.Load(), Failed: st.failed.Load(), Batches: st.batches.Load()}
}

// Close stops taking records, waits for those handed over to be stored
// (or to fail), and returns. The connection stays the caller's.
func (st *Store) Close() {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return
	}
	st.closed = true
	close(st.in)
	st.mu.Unlock()
	st.workers.Wait()
	st.stopReads()
	st.readers.Wait()
}

// Add hands a finished job's record over; it never blocks. Called from
// the backend's event loop.
func (st *Store) Add(r *messages.JobRecord) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		st.fail([]string{r.JobID}, ErrClosed)
		return
	}
	select {
	case st.in <- r:
		st.pending[r.JobID]++
	default:
		st.fail([]string{r.JobID}, errors.New("too many records waiting to be stored"))
	}
}

// Settled says that jobID has no record on its way.
func (st *Store) Settled(jobID string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.pending[jobID] == 0
}

func (st *Store) settle(jobIDs ...string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, id := range jobIDs {
		if st.pending[id]--; st.pending[id] <= 0 {
			delete(st.pending, id)
		}
	}
	close(st.settled)
	st.settled = make(chan struct{})
}

func (st *Store) isClosed() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.closed
}

// waitSettled returns once jobID has no record on its way from this
// process, or with ctx.
func (st *Store) waitSettled(ctx context.Context, jobID string) {
	_ = waitUntil(ctx, func() (bool, <-chan struct{}) {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.pending[jobID] == 0, st.settled
	})
}

// waitUntil returns nil once done says so, or the cause of ctx's end.
// done reads its state under its owner's lock and returns, with it, the
// channel its owner closes at the next change.
func waitUntil(ctx context.Context, done func() (bool, <-chan struct{})) error {
	for {
		ok, changed := done()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// fail counts and logs records that could not be stored: a batch's, in
// one line.
func (st *Store) fail(jobIDs []string, err error) {
	st.failed.Add(uint64(len(jobIDs)))
	st.opts.Log.Error("job history: records could not be stored; the jobs' results were delivered all the same",
		"records", len(jobIDs), "first_job", jobIDs[0], "err", err)
}
