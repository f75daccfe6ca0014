package bridge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

var (
	errHandshakeIncomplete = errors.New("no complete handshake")
	errTooManyConns        = errors.New("too many connections")
	errTooManyFromAddr     = errors.New("too many connections from one address")
	errNotAllowed          = errors.New("an address inginious.allow does not list")
	errWriteStalled        = errors.New("the peer reads nothing")
	// errGreetingMismatch: zmq4 changed its greeting, which the bridge
	// sends on its behalf.
	errGreetingMismatch = errors.New("zmq4 sends another greeting than the bridge")
)

const (
	// writeStall: a webapp that reads nothing for so long is gone. zmq4
	// writes to one peer under the lock of all its sends, so that such a
	// peer would otherwise stop every other webapp's messages.
	writeStall = 30 * time.Second
	// writeChunk: a large message is written in parts, each with its own
	// deadline, so that a slow link is not a stalled one.
	writeChunk = 1 << 20
)

// connError is why the bridge closed a connection. It reads as io.EOF to
// zmq4, which forgets a connection only after an EOF or a network error.
type connError struct{ err error }

func (e *connError) Error() string   { return "connection closed by the bridge: " + e.err.Error() }
func (e *connError) Unwrap() []error { return []error{e.err, io.EOF} }

// guardConn checks what a peer sends before zmq4 reads it, and closes the
// connection at the first byte zmq4 must not read.
type guardConn struct {
	net.Conn
	g       *guard
	release func(*guardConn)
	once    sync.Once

	// Read side, used by one reader at a time (the bridge's handshake,
	// then zmq4).
	stream *zmtpStream
	pre    []byte // read and checked in the handshake; zmq4 reads them again

	wmu  sync.Mutex
	echo []byte // the greeting the bridge sent, which zmq4 writes again
}

func newGuardConn(c net.Conn, g *guard, release func(*guardConn)) *guardConn {
	return &guardConn{Conn: c, g: g, release: release, stream: newZMTPStream(g.lim)}
}

// handshake sends zmq4's greeting and reads the peer's greeting and READY,
// all within timeout, so that zmq4's handshake finds them at once.
// The peer needs nothing more from the bridge to send them: both sides
// send their READY without waiting for the other's.
func (c *guardConn) handshake(timeout time.Duration) error {
	if err := c.Conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("%w: %w", errHandshakeIncomplete, err)
	}
	c.echo = nullGreeting()
	if _, err := c.Conn.Write(c.echo); err != nil {
		return fmt.Errorf("%w: %w", errHandshakeIncomplete, err)
	}
	buf := make([]byte, 512)
	for !c.stream.ready {
		n, err := c.Conn.Read(buf)
		if n > 0 {
			if err := c.stream.feed(buf[:n]); err != nil {
				return err
			}
			c.pre = append(c.pre, buf[:n]...)
		}
		if err != nil && !c.stream.ready {
			return fmt.Errorf("%w: %w", errHandshakeIncomplete, err)
		}
	}
	if err := c.Conn.SetDeadline(time.Time{}); err != nil {
		return fmt.Errorf("%w: %w", errHandshakeIncomplete, err)
	}
	pre, err := withoutIdentity(c.pre)
	if err != nil {
		return err
	}
	c.pre = pre
	return nil
}

func (c *guardConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		if ferr := c.stream.feed(p[:n]); ferr != nil {
			return 0, c.fail(ferr, true)
		}
	}
	return n, err
}

func (c *guardConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	written := 0
	if len(c.echo) > 0 {
		k := min(len(p), len(c.echo))
		if !bytes.Equal(p[:k], c.echo[:k]) {
			return 0, c.fail(errGreetingMismatch, true)
		}
		c.echo, p, written = c.echo[k:], p[k:], k
	}
	for len(p) > 0 {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(writeStall)); err != nil {
			return written, c.fail(err, false)
		}
		n, err := c.Conn.Write(p[:min(len(p), writeChunk)])
		written, p = written+n, p[n:]
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return written, c.fail(fmt.Errorf("%w for %v: %w", errWriteStalled, writeStall, err), true)
			}
			return written, c.fail(err, false)
		}
	}
	return written, nil
}

// fail closes the connection, counted and logged when the bridge chose
// to, and returns the error zmq4 gets.
func (c *guardConn) fail(err error, refused bool) error {
	if refused {
		c.g.refuse(c.RemoteAddr().String(), err)
	}
	c.Close()
	return &connError{err}
}

func (c *guardConn) Close() error {
	c.once.Do(func() { c.release(c) })
	return c.Conn.Close()
}
