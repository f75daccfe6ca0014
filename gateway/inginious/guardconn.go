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
	// maxQueued bounds what waits to be written to one peer: room for two
	// of the largest results (a NATS message of 8 MiB, and msgpack's
	// envelope) and their events. More, and the peer is closed as stalled.
	maxQueued = 24 << 20
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

	// Write side. zmq4 writes to a peer under the lock of all its sends:
	// a peer that read nothing held every other webapp's answers for
	// writeStall (30 s; INGInious' client gives up on its backend after
	// 11 s without a word, and crashes every job in flight). So Write only
	// queues, and writer writes to the network.
	wmu    sync.Mutex
	echo   []byte   // the greeting the bridge sent, which zmq4 writes again
	queue  [][]byte // written by zmq4, not yet to the peer
	queued int      // bytes in queue
	werr   error    // the connection failed: every later Write fails
	wake   chan struct{}
	closed chan struct{}
	writer sync.Once
}

func newGuardConn(c net.Conn, g *guard, release func(*guardConn)) *guardConn {
	return &guardConn{Conn: c, g: g, release: release, stream: newZMTPStream(g.lim),
		wake: make(chan struct{}, 1), closed: make(chan struct{})}
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
	if c.werr != nil {
		return 0, c.werr
	}
	written := 0
	if len(c.echo) > 0 {
		k := min(len(p), len(c.echo))
		if !bytes.Equal(p[:k], c.echo[:k]) {
			c.werr = c.fail(errGreetingMismatch, true)
			return 0, c.werr
		}
		c.echo, p, written = c.echo[k:], p[k:], k
	}
	if len(p) == 0 {
		return written, nil
	}
	if c.queued+len(p) > maxQueued {
		c.werr = c.fail(fmt.Errorf("%w: %d bytes wait for it", errWriteStalled, c.queued), true)
		return written, c.werr
	}
	// Small writes (zmq4 writes a frame's header apart, and a Pong is a
	// few bytes) join the last part queued, unless writeLoop is writing
	// it: a part each cost ten times its bytes.
	if n := len(c.queue); n > 1 && len(c.queue[n-1])+len(p) <= writeChunk {
		c.queue[n-1] = append(c.queue[n-1], p...)
	} else {
		c.queue = append(c.queue, append(make([]byte, 0, max(len(p), 4<<10)), p...))
	}
	c.queued += len(p)
	c.writer.Do(func() { go c.writeLoop() })
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return written + len(p), nil
}

// writeLoop writes what Write queued, until the connection closes.
func (c *guardConn) writeLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.closed:
			return
		}
		for {
			c.wmu.Lock()
			if len(c.queue) == 0 || c.werr != nil {
				c.wmu.Unlock()
				break
			}
			p := c.queue[0]
			c.wmu.Unlock()
			err := c.writeOut(p)
			c.wmu.Lock()
			if err != nil {
				c.werr = err
				c.queue, c.queued = nil, 0
				c.wmu.Unlock()
				return
			}
			c.queue[0] = nil
			c.queue, c.queued = c.queue[1:], c.queued-len(p)
			c.wmu.Unlock()
		}
	}
}

// writeOut writes p to the peer, a chunk at a time, each within
// writeStall.
func (c *guardConn) writeOut(p []byte) error {
	for len(p) > 0 {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(writeStall)); err != nil {
			return c.fail(err, false)
		}
		n, err := c.Conn.Write(p[:min(len(p), writeChunk)])
		p = p[n:]
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return c.fail(fmt.Errorf("%w for %v: %w", errWriteStalled, writeStall, err), true)
			}
			return c.fail(err, false)
		}
	}
	return nil
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
	c.once.Do(func() {
		close(c.closed)
		c.release(c)
	})
	return c.Conn.Close()
}
