package backend

import (
	"github.com/ingo-grader/ingo/messages"
)

// sendQueue gathers what one turn of the event loop sends (the answers to
// the events it took, the jobs a dispatch handed out, what the journal's
// progress released from the outbox), so that what goes to one peer
// leaves in one NATS message (messages.Pack) rather than one per message.
// Per subject, messages leave in the order they were made; each peer
// reads only its own subject, so that is every order anyone sees.
type sendQueue struct {
	order     []string // subjects, in the order of their first message
	bySubject map[string][][]byte
	bytes     int
}

// flushAt bounds what a turn may gather before it is sent: a turn that
// answers a thousand events holds at most this much.
const flushAt = 4 << 20

func (b *Backend) queueSend(subject string, data []byte) {
	q := &b.sends
	if q.bySubject == nil {
		q.bySubject = make(map[string][][]byte)
	}
	list, ok := q.bySubject[subject]
	if !ok {
		q.order = append(q.order, subject)
	}
	q.bySubject[subject] = append(list, data)
	q.bytes += len(data)
	if q.bytes >= flushAt {
		b.flushSends()
	}
}

// flushSends publishes what the turn gathered, a batch per subject.
func (b *Backend) flushSends() {
	q := &b.sends
	if len(q.order) == 0 {
		return
	}
	limit := int(b.nc.MaxPayload())
	for _, subject := range q.order {
		list := q.bySubject[subject]
		_ = messages.Pack(list, limit, func(payload []byte, n int) error {
			if err := b.nc.Publish(subject, payload); err != nil {
				b.stats.sendErrors.Add(int64(n))
				b.log.Warn("send failed", "subject", subject, "messages", n, "err", err)
			} else if n > 1 {
				b.stats.batchesSent.Add(1)
			}
			return nil
		})
		clear(list)
		delete(q.bySubject, subject)
	}
	q.order = q.order[:0]
	q.bytes = 0
}
