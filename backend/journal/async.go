package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend"
)

const (
	// maxInFlight bounds the transitions appended and not stored yet:
	// Append refuses beyond it.
	maxInFlight = 8192
	// maxInFlightBytes bounds the bytes of those transitions (a job's
	// record holds its description until it is stored): when NATS cut the
	// backend's connection under a flood of 7 MiB submissions, 8,192
	// records waiting took the backend to 6 GB of live heap. One record
	// alone is always taken.
	maxInFlightBytes = 128 << 20
	// batchesInFlight is how many batches may wait for their ack at once.
	// Few on purpose: what is appended while they are stored waits and
	// goes in the next batch, so batches grow with the load (a group
	// commit) instead of every record paying for a message of its own;
	// under a light load a record still goes at once, alone.
	batchesInFlight = 2
	// retryFor bounds how long a store whose ack did not come is sent
	// again before the journal fails (and the backend is rebuilt from
	// it). It rides through a stream leader election or a NATS node's
	// death, as the backend did when it waited for each store, and stays
	// within JetStream's duplicate window (2 min by default), in which a
	// store sent again with its message id is not stored twice.
	retryFor = 110 * time.Second
)

var _ backend.AsyncJournal = (*Journal)(nil)

// errBehind refuses a transition while maxInFlight, or maxInFlightBytes,
// are not stored yet.
var errBehind = errors.New("journal: too many transitions not stored yet; try again")

// asyncState is the group commit's: Append queues a record, the writer
// makes batches of what is queued and publishes them without waiting,
// and the ack worker follows their acks in order.
type asyncState struct {
	appended atomic.Uint64 // positions given by Append
	stored   atomic.Uint64 // every position up to this one is stored
	// unstoredBytes is the size of the records appended and not stored
	// yet (recordBytes).
	unstoredBytes atomic.Int64
	progress      chan struct{} // coalesced signal of stored or err changing

	mu       sync.Mutex
	queued   []queuedRecord // appended, in no batch yet
	carries  []carryRequest // copies of long-lived jobs' records (compact.go)
	unstored map[string]int // job id -> its records appended and not stored
	closed   bool           // Close was called: the writer ends once queued is empty
	wake     chan struct{}  // coalesced: queued or carries grew, or closed
	changed  chan struct{}  // closed and replaced when stored grows or err is set
	slots    chan struct{}  // a token per batch in flight
	batches  chan *inFlight // published, in order, for the ack worker

	errMu sync.Mutex
	err   error

	startOnce sync.Once
	done      chan struct{} // closed when the ack worker ended
}

type queuedRecord struct {
	n uint64
	batchRecord
}

// inFlight is a published batch whose ack the ack worker waits for.
type inFlight struct {
	last    uint64        // position of its last transition; 0 for a carry
	records []batchRecord // for the liveness: whose records it holds
	carry   *carryRequest // set when the batch is a carried job's copy
	future  jetstream.PubAckFuture
	data    []byte // set by the writer, once the input message is stored
	input   uint64 // the input message's sequence, 0 when none
	msgID   string
}

func (a *asyncState) init() {
	a.progress = make(chan struct{}, 1)
	a.unstored = map[string]int{}
	a.wake = make(chan struct{}, 1)
	a.changed = make(chan struct{})
	a.slots = make(chan struct{}, batchesInFlight)
	a.batches = make(chan *inFlight, batchesInFlight)
	a.done = make(chan struct{})
}

// Append queues t for the next batch and returns its position (see
// backend.AsyncJournal). Called from the backend's event loop only.
func (j *Journal) Append(t backend.Transition) (uint64, error) {
	if err := j.Err(); err != nil {
		return 0, err
	}
	data, job, err := encodeApart(t)
	if err != nil {
		return 0, err
	}
	size := recordBytes(batchRecord{data: data, job: job})
	if j.async.appended.Load()-j.async.stored.Load() >= maxInFlight ||
		j.async.unstoredBytes.Load() > 0 && j.async.unstoredBytes.Load()+size > maxInFlightBytes {
		// Refused at once rather than after a stall: the event loop must
		// not wait while the journal is behind (a leader election).
		return 0, errBehind
	}
	j.async.unstoredBytes.Add(size)
	j.startWriter()
	id := backend.TransitionJobID(t)
	a := &j.async
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return 0, errors.New("journal: closed")
	}
	n := a.appended.Add(1)
	a.queued = append(a.queued, queuedRecord{n: n, batchRecord: batchRecord{id: id, data: data, job: job}})
	a.unstored[id]++
	a.mu.Unlock()
	j.sinceMeasure.Add(uint64(len(data) + len(job) + 2*len(id) + 6))
	j.wakeWriter()
	return n, nil
}

// recordBytes is what a record holds in memory until it is stored.
func recordBytes(r batchRecord) int64 { return int64(len(r.data) + len(r.job)) }

// Record stores t and returns once it is stored, through the same batches
// as Append, so that the two keep their order.
func (j *Journal) Record(t backend.Transition) error {
	n, err := j.Append(t)
	if err != nil {
		return err
	}
	deadline := time.NewTimer(retryFor + j.opts.Timeout)
	defer deadline.Stop()
	for {
		j.async.mu.Lock()
		changed := j.async.changed
		j.async.mu.Unlock()
		if err := j.Err(); err != nil {
			return err
		}
		if j.Stored() >= n {
			return nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return fmt.Errorf("journal: record of %s not stored in time", backend.TransitionJobID(t))
		}
	}
}

// Stored is the position up to which every appended transition is stored.
func (j *Journal) Stored() uint64 { return j.async.stored.Load() }

// Progress signals that Stored grew or Err was set.
func (j *Journal) Progress() <-chan struct{} { return j.async.progress }

// Err is the first store that failed, after which nothing is stored.
func (j *Journal) Err() error {
	j.async.errMu.Lock()
	defer j.async.errMu.Unlock()
	return j.async.err
}

func (j *Journal) fail(err error) {
	j.async.errMu.Lock()
	if j.async.err == nil {
		j.async.err = err
	}
	j.async.errMu.Unlock()
	j.signal()
}

// signal tells the backend (Progress) and Record's waiters.
func (j *Journal) signal() {
	select {
	case j.async.progress <- struct{}{}:
	default:
	}
	j.async.mu.Lock()
	close(j.async.changed)
	j.async.changed = make(chan struct{})
	j.async.mu.Unlock()
}

func (j *Journal) wakeWriter() {
	select {
	case j.async.wake <- struct{}{}:
	default:
	}
}

func (j *Journal) startWriter() {
	j.async.startOnce.Do(func() {
		go j.writer()
		go j.ackWorker()
	})
}

// writer publishes what is queued, a batch at a time, once a slot is
// free: while batchesInFlight wait for their acks, what arrives gathers
// into the next batch.
func (j *Journal) writer() {
	a := &j.async
	defer close(a.batches)
	for {
		<-a.wake
		for {
			a.slots <- struct{}{}
			b, closed := j.nextBatch()
			if b == nil {
				<-a.slots
				if closed {
					return
				}
				break
			}
			if j.Err() == nil {
				j.publish(b)
			}
			a.batches <- b
		}
	}
}

// publish stores b's input message, if it has one, and then publishes b
// without waiting for its ack. The input goes first, and alone, because
// the batch names its sequence: a batch is never stored without its
// descriptions (inputs.go).
func (j *Journal) publish(b *inFlight) {
	size, inputs := len(batchMagic)+binary.MaxVarintLen64, len(inputsMagic)
	for _, r := range b.records {
		size += recordSize(r)
		inputs += descriptionSize(r)
	}
	if in := appendInputs(make([]byte, 0, inputs), b.records); len(in) > 0 {
		seq, err := j.storeInputs(in, b.msgID)
		if err != nil {
			j.fail(fmt.Errorf("journal: input message of a batch: %w", err))
			return
		}
		b.input = seq
	}
	b.data = appendBatch(make([]byte, 0, size), b.records, b.input)
	f, err := j.js.PublishMsgAsync(&nats.Msg{Subject: j.batches, Data: b.data},
		jetstream.WithExpectStream(j.subj.JournalStream()), jetstream.WithMsgID(b.msgID))
	if err != nil {
		// Not even sent: the ack worker sends it again, as for a lost ack.
		f = nil
	}
	b.future = f
}

// nextBatch takes the next batch from what is queued: a carried job's
// copy when one is asked for and still right, else records up to the
// bounds of a batch. It returns nil when there is nothing to send, and
// whether the journal is closed.
func (j *Journal) nextBatch() (*inFlight, bool) {
	a := &j.async
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.carries) > 0 {
		c := a.carries[0]
		a.carries = a.carries[1:]
		if a.unstored[c.id] > 0 || !j.live.unchanged(c.id, c.seqs) {
			c.result <- errCarryStale
			continue
		}
		return j.batch(c.records, 0, &c), false
	}
	if len(a.queued) == 0 {
		return nil, a.closed
	}
	k, size := 0, len(batchMagic)
	for k < len(a.queued) && k < maxBatchRecords {
		s := batchSize(a.queued[k].batchRecord)
		if k > 0 && size+s > maxBatchBytes {
			break
		}
		size += s
		k++
	}
	records := make([]batchRecord, k)
	for i := range k {
		records[i] = a.queued[i].batchRecord
	}
	last := a.queued[k-1].n
	clear(a.queued[:k])
	a.queued = a.queued[k:]
	if len(a.queued) == 0 {
		a.queued = nil // let the backing array go after a burst
	}
	return j.batch(records, last, nil), false
}

func (j *Journal) batch(records []batchRecord, last uint64, c *carryRequest) *inFlight {
	return &inFlight{last: last, records: records, carry: c,
		msgID: j.session + "." + strconv.FormatUint(j.msgSeq.Add(1), 36)}
}

// ackWorker follows the batches' acks in order. A batch whose ack did not
// come (a lost answer, a stream leader change) is sent again with its
// message id, so that a store that happened is not made twice; if that
// fails too, the journal has failed.
func (j *Journal) ackWorker() {
	a := &j.async
	defer close(a.done)
	for b := range a.batches {
		seq, err := j.follow(b)
		if err != nil {
			j.fail(err)
		}
		if err == nil && b.input != 0 {
			j.live.noteInput(seq, b.input)
		}
		if b.carry != nil {
			if err == nil {
				j.live.carried(b.carry.id, seq)
			}
			b.carry.result <- err
		} else {
			if err == nil {
				for _, r := range b.records {
					j.live.stored(r.id, seq)
				}
			}
			a.mu.Lock()
			for _, r := range b.records {
				if a.unstored[r.id]--; a.unstored[r.id] <= 0 {
					delete(a.unstored, r.id)
				}
				a.unstoredBytes.Add(-recordBytes(r))
			}
			a.mu.Unlock()
			if err == nil {
				a.stored.Store(b.last)
				j.signal()
			}
		}
		<-a.slots
	}
}

// follow waits for a batch's ack, or stores it again, and returns the
// batch's stream sequence.
func (j *Journal) follow(b *inFlight) (uint64, error) {
	if j.Err() != nil {
		return 0, j.Err() // nothing is stored after a failure
	}
	if b.future != nil {
		select {
		case ack := <-b.future.Ok():
			return ack.Sequence, nil
		case err := <-b.future.Err():
			j.opts.Log.Debug("journal: batch not acknowledged; sending it again", "records", len(b.records), "err", err)
		}
	}
	return j.store(j.batches, j.subj.JournalStream(), b.data, b.msgID, retryFor)
}
