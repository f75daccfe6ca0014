package journal

import (
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

// maxInFlight bounds the transitions appended and not stored yet; Append
// waits (at most stallWait) when it is reached.
const (
	maxInFlight = 8192
	stallWait   = time.Second
	// retryFor bounds how long a store whose ack did not come is sent
	// again before the journal fails (and the backend is rebuilt from
	// it). It rides through a stream leader election or a NATS node's
	// death, as the backend did when it waited for each store, and stays
	// within JetStream's duplicate window (2 min by default), in which a
	// store sent again with its message id is not stored twice.
	retryFor = 110 * time.Second
)

var _ backend.AsyncJournal = (*Journal)(nil)

// errBehind refuses a transition while maxInFlight are not stored yet.
var errBehind = errors.New("journal: too many transitions not stored yet; try again")

// asyncState is the group commit's: Append publishes without waiting, and
// the ack worker follows the acks in the order of the appends.
type asyncState struct {
	appended atomic.Uint64 // positions given by Append
	stored   atomic.Uint64 // every position up to this one is stored
	progress chan struct{} // coalesced signal of stored or err changing
	acks     chan pendingAck

	errMu sync.Mutex
	err   error

	startOnce sync.Once
	done      chan struct{} // closed when the ack worker ended
}

type pendingAck struct {
	n       uint64
	id      string // the job's
	future  jetstream.PubAckFuture
	subject string
	data    []byte
	msgID   string
}

// Append publishes t asynchronously and returns its position (see
// backend.AsyncJournal). Called from the backend's event loop only.
func (j *Journal) Append(t backend.Transition) (uint64, error) {
	if err := j.Err(); err != nil {
		return 0, err
	}
	data, err := Encode(t)
	if err != nil {
		return 0, err
	}
	if j.async.appended.Load()-j.async.stored.Load() >= maxInFlight {
		// Refused at once rather than after a stall: the event loop must
		// not wait while the journal is behind (a leader election).
		return 0, errBehind
	}
	j.async.startOnce.Do(func() { go j.ackWorker() })
	subject := j.subj.Journal(backend.TransitionJobID(t))
	msgID := j.session + "." + strconv.FormatUint(j.msgSeq.Add(1), 36)
	f, err := j.js.PublishMsgAsync(&nats.Msg{Subject: subject, Data: data},
		jetstream.WithExpectStream(j.subj.JournalStream()), jetstream.WithMsgID(msgID), jetstream.WithStallWait(stallWait))
	if err != nil {
		// Not published: t is refused and nothing after it depends on it.
		return 0, fmt.Errorf("journal: store %s: %w", subject, err)
	}
	j.sinceMeasure.Add(uint64(len(data) + len(subject) + 64))
	n := j.async.appended.Add(1)
	j.async.acks <- pendingAck{n: n, id: backend.TransitionJobID(t), future: f, subject: subject, data: data, msgID: msgID}
	return n, nil
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

func (j *Journal) signal() {
	select {
	case j.async.progress <- struct{}{}:
	default:
	}
}

// ackWorker follows the acks in append order. A publish whose ack did not
// come (a lost answer, a stream leader change) is sent again with its
// message id, as Record does, so that a store that happened is not made
// twice; if that fails too, the journal has failed.
func (j *Journal) ackWorker() {
	defer close(j.async.done)
	for p := range j.async.acks {
		if j.Err() != nil {
			continue // drain: nothing is stored after a failure
		}
		select {
		case ack := <-p.future.Ok():
			j.live.stored(p.id, ack.Sequence)
		case err := <-p.future.Err():
			j.opts.Log.Debug("journal: store not acknowledged; sending it again", "subject", p.subject, "err", err)
			seq, err := j.store(p.subject, p.data, p.msgID, retryFor)
			if err != nil {
				j.async.errMu.Lock()
				j.async.err = err
				j.async.errMu.Unlock()
				j.signal()
				continue
			}
			j.live.stored(p.id, seq)
		}
		j.async.stored.Store(p.n)
		j.signal()
	}
}
