package natsconn

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/messages"
)

// ErrCoalescerClosed is returned by Send after Close.
var ErrCoalescerClosed = errors.New("natsconn: sender closed")

// Coalescer publishes encoded messages on one subject, with one reply
// subject, in the order they are given, from a goroutine of its own. What
// is given while it publishes leaves with the next publish, many messages
// in one messages.Batch (messages.Pack): a lone message goes at once and
// alone, and a burst (the acks of a batch of results, the results of the
// jobs a batch started) costs the server and the receiver one NATS
// message per batch instead of one per message. The agent and the client
// library, which speak only to the backend, send everything through one.
type Coalescer struct {
	nc             *nats.Conn
	subject, reply string
	// failed hears of a publish that failed, with the number of messages
	// it carried; they are lost, as a failed publish's message is, and
	// their senders' timers send them again.
	failed func(n int, err error)

	mu      sync.Mutex
	queue   [][]byte
	closing bool
	wake    chan struct{}
	done    chan struct{}
}

// NewCoalescer starts a Coalescer; Close stops it.
func NewCoalescer(nc *nats.Conn, subject, reply string, failed func(n int, err error)) *Coalescer {
	c := newCoalescer(nc, subject, reply, failed)
	go c.run()
	return c
}

func newCoalescer(nc *nats.Conn, subject, reply string, failed func(n int, err error)) *Coalescer {
	return &Coalescer{nc: nc, subject: subject, reply: reply, failed: failed,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Send queues data, an encoded message, to be published. It fails at once
// for what could never be sent: data over the server's max_payload, a
// closed connection, a closed Coalescer. A later failure goes to failed.
func (c *Coalescer) Send(data []byte) error {
	if max := c.nc.MaxPayload(); max > 0 && int64(len(data)) > max {
		return fmt.Errorf("publish on %s: %w (%d bytes, max_payload %d)", c.subject, nats.ErrMaxPayload, len(data), max)
	}
	if c.nc.IsClosed() {
		return fmt.Errorf("publish on %s: %w", c.subject, nats.ErrConnectionClosed)
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return ErrCoalescerClosed
	}
	c.queue = append(c.queue, data)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// SendMessage encodes m (Encode) and queues it.
func (c *Coalescer) SendMessage(m messages.Message) error {
	data, err := Encode(c.nc, m)
	if err != nil {
		return err
	}
	if err := c.Send(data); err != nil {
		return fmt.Errorf("%s: %w", m.MessageName(), err)
	}
	return nil
}

// Close publishes what is queued, stops the goroutine and returns once it
// has: what Send accepted before Close is handed to the connection, to be
// flushed or drained with it.
func (c *Coalescer) Close() {
	c.mu.Lock()
	if !c.closing {
		c.closing = true
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	<-c.done
}

func (c *Coalescer) run() {
	defer close(c.done)
	var spare [][]byte
	for range c.wake {
		// Let the goroutines that are about to send (the rest of a batch
		// being handled, the other jobs that just finished) queue first.
		runtime.Gosched()
		c.mu.Lock()
		q, closing := c.queue, c.closing
		c.queue = spare[:0]
		c.mu.Unlock()
		if len(q) > 0 {
			c.publish(q)
		}
		clear(q)
		spare = q
		if closing { // nothing is queued after closing is set
			return
		}
	}
}

func (c *Coalescer) publish(q [][]byte) {
	limit := int(c.nc.MaxPayload())
	_ = messages.Pack(q, limit, func(payload []byte, n int) error {
		if err := c.nc.PublishMsg(&nats.Msg{Subject: c.subject, Reply: c.reply, Data: payload}); err != nil && c.failed != nil {
			c.failed(n, fmt.Errorf("publish on %s: %w", c.subject, err))
		}
		return nil
	})
}
