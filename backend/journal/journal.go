package journal

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
	"github.com/nats-io/nuid"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/streamspace"
	"github.com/ingo-grader/ingo/messages"
)

// DefaultMaxBytes is the default of Options.MaxBytes: a million waiting
// jobs of a few KiB each.
const DefaultMaxBytes = 4 << 30

// Options tune the journal; the zero value takes the defaults.
type Options struct {
	// Prefix of the installation ("" means messages.DefaultPrefix).
	Prefix string
	// Timeout of one store operation (publish with ack, purge); 5 s.
	Timeout time.Duration
	// MaxBytes bounds the journal's size, its two streams together; 4 GiB.
	// The journal stream has it as JetStream's bound: when it is reached,
	// new records are refused (never the oldest dropped: they may be waiting
	// jobs), and well before, from 90% (Full), the backend refuses new
	// jobs, so the transitions of the jobs it has still fit.
	MaxBytes int64
	// MaxAge is a safety net on a record's age; 7 days.
	MaxAge time.Duration
	// Replicas of the stream (1; 3 on a NATS cluster).
	Replicas int
	// Log receives what the journal cannot return as an error; nil
	// discards it.
	Log *slog.Logger

	carryAfter uint64 // 0: carryAfter (tests make it small)
}

// Journal records backend transitions in a JetStream stream. Record and
// Replay are called from the backend's event loop only.
type Journal struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	inputs jetstream.Stream // the descriptions, apart (inputs.go)
	subj   messages.Subjects
	opts   Options
	// batches and inputSubject are where this journal stores, in its
	// space (space.go).
	batches, inputSubject string

	// session and msgSeq make each record's message id (see Record).
	session string
	msgSeq  atomic.Uint64

	closeOnce sync.Once

	async asyncState // Append's group commit (async.go)

	// live follows the live jobs' first records for the compactor
	// (compact.go), which Replay starts and Close stops.
	live         *liveness
	recent       recentBatches // the batches LoadJob read last
	recentInputs recentBatches // and their input messages
	bytes        atomic.Uint64 // the stream's size, measured by the compactor
	sinceMeasure atomic.Uint64 // bytes appended since (roughly: data, subject, headers)
	compactOnce  sync.Once
	stopCompact  chan struct{}
	compactDone  chan struct{}

	preloaded *preloadMark // set by Preload (preload.go)
}

var (
	_ backend.Journal     = (*Journal)(nil)
	_ backend.Replayer    = (*Journal)(nil)
	_ backend.Preloader   = (*Journal)(nil)
	_ backend.ResultStore = (*Journal)(nil)
	_ backend.Filling     = (*Journal)(nil)
)

// Open creates the journal's stream if it does not exist yet (or updates
// its limits) and returns the journal.
func Open(ctx context.Context, nc *nats.Conn, o Options) (*Journal, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.carryAfter == 0 {
		o.carryAfter = carryAfter
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(2*maxInFlight), jetstream.WithPublishAsyncTimeout(o.Timeout))
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	subj := messages.NewSubjects(o.Prefix)
	cfg := jetstream.StreamConfig{
		Name:        subj.JournalStream(),
		Description: "ingo backend job journal: the jobs' transitions, in batches",
		// Subjects: the space's, below.
		Storage:   jetstream.FileStorage,
		Retention: jetstream.LimitsPolicy,
		Discard:   jetstream.DiscardNew,
		MaxBytes:  o.MaxBytes,
		MaxAge:    o.MaxAge,
		Replicas:  o.Replicas,
		// Direct gets: LoadJob and LoadResult read one record raw, from any
		// replica, instead of through the JetStream API's JSON and base64.
		AllowDirect: true,
	}
	s, space, err := streamspace.Open(ctx, js, cfg, spaceHead(subj),
		func(space string) []string { return []string{subj.JournalAllIn(space)} })
	if err != nil {
		return nil, fmt.Errorf("journal: stream %s: %w", cfg.Name, natsconn.ExplainStore(err))
	}
	icfg := inputsStreamConfig(cfg, subj.JournalInputsStream(), subj.JournalInputsIn(space))
	var inputs jetstream.Stream
	err = natsconn.RetryStoreFailed(ctx, func() (err error) {
		inputs, err = js.CreateOrUpdateStream(ctx, icfg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("journal: stream %s: %w", icfg.Name, natsconn.ExplainStore(err))
	}
	j := &Journal{nc: nc, js: js, stream: s, inputs: inputs, subj: subj, opts: o, session: nuid.Next(),
		batches: subj.JournalBatchIn(space), inputSubject: subj.JournalInputsIn(space),
		live: newLiveness(), stopCompact: make(chan struct{}), compactDone: make(chan struct{})}
	j.async.init()
	return j, nil
}

// Close stores what was appended, then runs a last compaction, so that a
// restart does not send again the results acknowledged in the last
// second. Call it after the backend's Run returned. The connection stays
// the caller's.
func (j *Journal) Close() {
	j.closeOnce.Do(func() {
		j.async.mu.Lock()
		j.async.closed = true
		j.async.mu.Unlock()
		j.wakeWriter()
		j.async.startOnce.Do(func() { close(j.async.done) })
		<-j.async.done
		close(j.stopCompact)
		j.compactOnce.Do(func() { close(j.compactDone) })
		if n := j.async.appended.Load(); n > 0 {
			j.opts.Log.Info("journal closed", "records", n, "batches", j.msgSeq.Load())
		}
	})
	<-j.async.done
	<-j.compactDone
}

// store publishes one message to stream and waits for its ack, sending it
// again with the same message id for at most within.
func (j *Journal) store(subject, stream string, data []byte, msgID string, within time.Duration) (uint64, error) {
	start := time.Now()
	deadline := start.Add(within)
	var warned time.Time // when it last said so at WARN
	for tries := 1; ; tries++ {
		ctx, cancel := context.WithTimeout(context.Background(), min(j.opts.Timeout/3, time.Until(deadline)))
		ack, err := j.js.Publish(ctx, subject, data, jetstream.WithExpectStream(stream), jetstream.WithMsgID(msgID))
		cancel()
		if err == nil {
			return ack.Sequence, nil
		}
		if time.Until(deadline) < 100*time.Millisecond {
			// The stream's name, not the subject: this error may reach a
			// client, and the subject holds the space (space.go).
			return 0, fmt.Errorf("journal: store in %s: %w", stream, err)
		}
		if now := time.Now(); now.Sub(warned) >= storeWarnEvery && (refused(err) || now.Sub(start) >= storeWarnEvery) {
			// Nothing reaches the backend's clients meanwhile but
			// silence: say it where an operator looks.
			warned = now
			j.opts.Log.Warn("journal: JetStream does not store the backend's transitions; the backend waits and tries again (a full disk? the NATS server's log says why; freed, restart the server: a stream whose write failed refuses until then)",
				"stream", stream, "err", err, "tries", tries, "for", now.Sub(start).Round(time.Millisecond), "gives_up_in", time.Until(deadline).Round(time.Second))
		} else {
			j.opts.Log.Debug("journal: store not acknowledged; sending it again", "stream", stream, "err", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// storeWarnEvery is how often a store that keeps failing is logged at
// WARN: a refusal at once, a missing ack once it lasts this long (a
// stream leader election takes less).
const storeWarnEvery = 5 * time.Second

// refused says whether JetStream answered a store with an error (a full
// stream, a store that cannot write), rather than not at all.
func refused(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api)
}

// Forget lets a delivered job's records go: the compactor (compact.go)
// purges them with the next compaction once no older live job needs the
// records before them. A replay before that reads the job as finished
// and sends its result again; the client drops it as a duplicate.
func (j *Journal) Forget(jobID string) error {
	j.live.forget(jobID)
	return nil
}

// LoadResult reads a finished job's result back from its last record.
func (j *Journal) LoadResult(jobID string) (*messages.BackendJobDone, error) {
	ctx, cancel := context.WithTimeout(context.Background(), j.opts.Timeout)
	defer cancel()
	records, _, err := j.readJob(ctx, jobID, true)
	if err != nil {
		return nil, fmt.Errorf("journal: read the result of %s: %w", jobID, err)
	}
	t, err := Decode(records[len(records)-1].data)
	if err != nil {
		return nil, fmt.Errorf("journal: the last record of %s: %w", jobID, err)
	}
	f, ok := t.(*backend.JobFinished)
	if !ok {
		return nil, fmt.Errorf("journal: the last record of %s is a %T, not its result", jobID, t)
	}
	return f.Result, nil
}

// Replay calls apply with every stored transition, in the order stored,
// or, after Preload, with those stored since (preload.go). Once it has
// read the stream, the compactor starts (compact.go): it needs to know
// every live job's first record before it purges anything.
func (j *Journal) Replay(apply func(backend.Transition)) error {
	from := uint64(0) // all
	if p := j.preloaded; p != nil {
		var err error
		if from, err = j.catchUpFrom(p); err != nil {
			return err
		}
	}
	if _, err := j.replay(context.Background(), from, apply); err != nil {
		return err
	}
	j.measure() // Full is right from the first job on
	j.compactOnce.Do(func() { go j.compactor() })
	return nil
}

// Records returns how many records the stream holds (for tests and stats).
func (j *Journal) Records(ctx context.Context) (uint64, error) {
	info, err := j.stream.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}
