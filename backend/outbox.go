package backend

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// outbox holds what the event loop sends while transitions it appended to
// an AsyncJournal are not stored yet. A message leaves once every
// transition appended before it was made is stored, and messages leave in
// the order they were made: so a client hears "queued" only once its job
// is in the journal, an agent gets a job only once its assignment is, and
// a result is sent only once it is stored, exactly as when each transition
// waited for its own store, while the journal stores many at once.
type outbox struct {
	// appended is the journal position of the last transition appended,
	// stored the position up to which the journal has stored them.
	appended, stored uint64
	held             []heldMsg
}

type heldMsg struct {
	after   uint64 // leaves once stored >= after
	subject string
	data    []byte
}

// holding says whether a message made now must wait.
func (o *outbox) holding() bool { return o.stored < o.appended || len(o.held) > 0 }

// flushOutbox sends what the journal's progress to stored releases.
func (b *Backend) flushOutbox(stored uint64) {
	if stored > b.out.stored {
		b.out.stored = stored
	}
	n := 0
	for _, h := range b.out.held {
		if h.after > b.out.stored {
			break
		}
		b.queueSend(h.subject, h.data)
		n++
	}
	if n == len(b.out.held) {
		b.out.held = b.out.held[:0]
	} else {
		b.out.held = append(b.out.held[:0], b.out.held[n:]...)
	}
}

// settleOutbox waits, on a stop, for the journal to store what was
// appended (at most timeout) and sends what that releases. What is still
// held then is dropped: its senders ask again.
func (b *Backend) settleOutbox(timeout time.Duration) {
	defer b.flushSends()
	if b.async == nil {
		return
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for b.async.Stored() < b.out.appended && b.async.Err() == nil {
		select {
		case <-b.async.Progress():
		case <-deadline.C:
			b.log.Warn("stopping with transitions not stored yet; their messages are dropped", "appended", b.out.appended, "stored", b.async.Stored())
			b.flushOutbox(b.async.Stored())
			return
		}
	}
	if b.async.Err() == nil {
		b.flushOutbox(b.async.Stored())
	}
}

// journalFailed stops a backend whose AsyncJournal could not store a
// transition: like a deposed one, it unsubscribes and drops what it holds
// (nobody heard of the transitions that may be lost), and Run returns
// ErrJournalFailed for a new Backend to replay the journal.
func (b *Backend) journalFailed(err error, subs ...*nats.Subscription) error {
	close(b.abandoned)
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
	b.stats.journalErrors.Add(1)
	b.log.Error("the journal failed to store a transition; stopping to be rebuilt from the journal", "held", len(b.out.held), "err", err)
	b.out.held = nil
	return fmt.Errorf("%w: %w", ErrJournalFailed, err)
}
