package journal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Compaction replaces a purge per delivered job. The journal knows, for
// every live job (not forgotten), the stream sequence of its first
// record; every compactEvery, one purge removes every record below the
// smallest of them. A job that stays live long (waiting for an
// environment, a result whose client is away) would hold every later
// record in the stream: once it is carryAfter records behind the head,
// its records are copied to the head (carried) and the old ones go with
// the next compaction. A replay that meets both copies applies the job's
// history twice, which leaves the state the history gives.
const (
	compactEvery = time.Second
	carryPerTick = 200
	// carryGain is how many records the purge must gain per job carried
	// for a carry to be made.
	carryGain = 100
)

// carryAfter is how many messages behind the head a live job's first
// record may be before it is carried (Options.carryAfter in tests): with
// batches of up to maxBatchBytes, 256 MiB at most, well within the
// stream's bound.
const carryAfter = 4096

// liveness is where every live job's records are: the first, which the
// compaction keeps, and the others, which LoadResult and a carry read.
type liveness struct {
	mu     sync.Mutex
	first  map[string]uint64   // job id -> sequence of its first record
	more   map[string][]uint64 // job id -> the other messages with its records, in order (most jobs of a queue have none)
	order  []liveEntry         // by sequence; entries of forgotten or carried jobs are skipped
	head   int                 // order[head:] is current
	purged uint64              // every record below this sequence was purged
	last   uint64              // the last sequence seen
	inputs inputsState         // the input messages of the batches (inputs.go)
}

type liveEntry struct {
	seq uint64
	id  string
}

func newLiveness() *liveness {
	return &liveness{first: map[string]uint64{}, more: map[string][]uint64{}}
}

// stored notes a record of job id in the message at seq (in stream order).
func (l *liveness) stored(id string, seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = max(l.last, seq)
	first, ok := l.first[id]
	if !ok {
		l.first[id] = seq
		l.order = append(l.order, liveEntry{seq, id})
		return
	}
	if more := l.more[id]; seq != first && (len(more) == 0 || more[len(more)-1] != seq) {
		l.more[id] = append(more, seq)
	}
}

// seqs returns the messages holding job id's records, in order (none
// when the journal has no record of it).
func (l *liveness) seqs(id string) []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	first, ok := l.first[id]
	if !ok {
		return nil
	}
	return append([]uint64{first}, l.more[id]...)
}

// unchanged says whether job id's records are still in seqs.
func (l *liveness) unchanged(id string, seqs []uint64) bool {
	now := l.seqs(id)
	return len(now) > 0 && slices.Equal(now, seqs)
}

// forget drops a job: its records may go.
func (l *liveness) forget(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.first, id)
	delete(l.more, id)
}

// carried moves a live job's records to the message at seq.
func (l *liveness) carried(id string, seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.first[id]; !ok {
		return // forgotten meanwhile
	}
	l.first[id] = seq
	delete(l.more, id)
	l.order = append(l.order, liveEntry{seq, id})
	l.last = max(l.last, seq)
}

// front skips the entries that are no longer the first record of a live
// job and returns the lowest sequence still needed (last+1 when none) and
// the jobs that are carryAfter behind the last record, at most n.
func (l *liveness) front(n int, after uint64) (low uint64, behind []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.head < len(l.order) {
		e := l.order[l.head]
		if s, ok := l.first[e.id]; ok && s == e.seq {
			break
		}
		l.head++
	}
	if l.head > 4096 && l.head > len(l.order)/2 {
		l.order = append(l.order[:0:0], l.order[l.head:]...)
		l.head = 0
	}
	low = l.last + 1
	if l.head < len(l.order) {
		low = l.order[l.head].seq
	}
	// Carry the longest prefix of old live jobs whose carrying pays: it
	// lets the purge drop at least carryGain records per job carried. A
	// deadline's queue is a million live jobs side by side: carrying them
	// would free nothing and copy them all, 200 a second, for ever.
	var prefix []string
	all := true // the loop saw every live job, all of them old
	for _, e := range l.order[l.head:] {
		if s, ok := l.first[e.id]; !ok || s != e.seq {
			continue
		}
		if len(prefix) > 0 && e.seq-low >= carryGain*uint64(len(prefix)) {
			behind = prefix // carrying prefix lets the purge reach e
		}
		if len(prefix) >= n || l.last-e.seq < after {
			all = false
			break
		}
		prefix = append(prefix, e.id)
	}
	if all && len(prefix) > 0 && l.last+1-low >= carryGain*uint64(len(prefix)) {
		behind = prefix // every live job is old: carrying them frees the rest
	}
	return low, behind
}

// compactor purges what no live job needs, every compactEvery, and carries
// the jobs that hold too much; Close ends it.
func (j *Journal) compactor() {
	defer close(j.compactDone)
	t := time.NewTicker(compactEvery)
	defer t.Stop()
	for {
		stopping := false
		select {
		case <-j.stopCompact:
			// A last compaction, so that a restart does not send again
			// the results acknowledged in the last second.
			stopping = true
		case <-t.C:
		}
		j.compact(!stopping)
		if stopping {
			return
		}
		j.measure()
	}
}

// compact carries the jobs that hold too much (when carry is set) and
// purges what no live job needs.
func (j *Journal) compact(carry bool) {
	n := carryPerTick
	if !carry {
		n = 0
	}
	low, behind := j.live.front(n, j.opts.carryAfter)
	for _, id := range behind {
		if err := j.carry(id); err != nil {
			j.opts.Log.Warn("journal: carrying a long-lived job's records forward failed; the stream keeps what it holds", "job", id, "err", err)
			break
		}
	}
	if len(behind) > 0 {
		low, _ = j.live.front(0, j.opts.carryAfter)
	}
	if !j.purgeBelow(j.stream, low, &j.live.purged) {
		return
	}
	// Only once the records below low are gone (inputs.go).
	j.purgeBelow(j.inputs, j.live.inputsBelow(low), &j.live.inputs.purged)
}

// purgeBelow purges every message of stream below seq, unless *purged
// (guarded by the liveness' lock) says it was done, and says whether
// they are gone; a purge that fails is tried again at the next tick.
func (j *Journal) purgeBelow(stream jetstream.Stream, seq uint64, purged *uint64) bool {
	j.live.mu.Lock()
	done := seq <= *purged
	j.live.mu.Unlock()
	if done {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), j.opts.Timeout)
	err := stream.Purge(ctx, jetstream.WithPurgeSequence(seq))
	cancel()
	if err != nil {
		j.opts.Log.Warn("journal: compaction failed; trying again", "stream", stream.CachedInfo().Config.Name, "below", seq, "err", err)
		return false
	}
	j.live.mu.Lock()
	*purged = seq
	j.live.mu.Unlock()
	return true
}

// carryRequest asks the writer (async.go) to append a copy of a job's
// records, read from the messages seqs, unless the job has changed since
// (a record appended, or stored elsewhere): the copy must hold the job's
// whole history, and nothing of the job may land before it.
type carryRequest struct {
	id      string
	seqs    []uint64
	records []batchRecord
	result  chan error
}

// errCarryStale: the job changed while its records were read.
var errCarryStale = errors.New("the job changed while its records were read")

// carry copies a job's records to the head of the stream, as one batch
// the writer appends between the backend's own, so that they keep their
// order with the job's next records.
func (j *Journal) carry(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), j.opts.Timeout)
	defer cancel()
	seqs := j.live.seqs(id)
	if len(seqs) == 0 {
		return nil // forgotten meanwhile
	}
	var records []batchRecord
	for _, seq := range seqs {
		data, err := j.readRecord(ctx, seq)
		if err != nil {
			return fmt.Errorf("read message %d: %w", seq, err)
		}
		rs, inputSeq, err := jobRecords(data, id)
		if err != nil {
			return fmt.Errorf("message %d: %w", seq, err)
		}
		for _, r := range rs {
			br := batchRecord{id: id, data: r.data}
			if r.input != 0 { // its description goes along, into the copy's input
				if br.job, err = j.description(ctx, inputSeq, r.input, id); err != nil {
					return err
				}
			}
			records = append(records, br)
		}
	}
	if len(records) == 0 {
		return fmt.Errorf("no record of it in messages %v", seqs)
	}
	c := carryRequest{id: id, seqs: seqs, records: records, result: make(chan error, 1)}
	a := &j.async
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return errors.New("journal: closed")
	}
	a.carries = append(a.carries, c)
	a.mu.Unlock()
	j.startWriter()
	j.wakeWriter()
	select {
	case err := <-c.result:
		if errors.Is(err, errCarryStale) {
			return nil // carried at a later compaction
		}
		return err
	case <-ctx.Done():
		return fmt.Errorf("carry: %w", ctx.Err())
	}
}

// measure notes how many bytes the streams hold, for Full.
func (j *Journal) measure() {
	ctx, cancel := context.WithTimeout(context.Background(), j.opts.Timeout)
	defer cancel()
	info, err := j.stream.Info(ctx)
	if err != nil {
		return
	}
	inputs, err := j.inputs.Info(ctx)
	if err != nil {
		return
	}
	j.bytes.Store(info.State.Bytes + inputs.State.Bytes)
	j.sinceMeasure.Store(0)
}

// Full says that the streams hold 90% of MaxBytes or more: the backend
// then refuses new jobs, so that the transitions of the jobs it has still
// fit (backend.Filling). Measured every compactEvery, plus what was
// appended since.
func (j *Journal) Full() bool {
	return j.bytes.Load()+j.sinceMeasure.Load() >= uint64(j.opts.MaxBytes)/10*9
}
