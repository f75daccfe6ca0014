package natsconn

import "github.com/nats-io/nats.go"

// NewHeldCoalescer returns a Coalescer whose goroutine starts only when
// start is called: what is sent before waits, as it would behind a slow
// publish, so a test knows what one publish carries.
func NewHeldCoalescer(nc *nats.Conn, subject, reply string, failed func(int, error)) (c *Coalescer, start func()) {
	c = newCoalescer(nc, subject, reply, failed)
	return c, func() { go c.run() }
}
