package bridge

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"
)

// A ZeroMQ ROUTER drops, without an error, what it sends to a peer that is
// gone. So that a result is acknowledged to ingo only when a webapp can
// receive it, the bridge listens through this transport ("ingotcp", plain
// TCP), which counts the connections open on each listener.
const scheme = "ingotcp"

var (
	registerOnce sync.Once
	registerErr  error
	listeners    sync.Map // addr -> *atomic.Int64, open connections
)

type countingTransport struct{ transport.Transport }

func (t countingTransport) Listen(ctx context.Context, addr string) (net.Listener, error) {
	ln, err := t.Transport.Listen(ctx, addr)
	if err != nil {
		return nil, err
	}
	n := &atomic.Int64{}
	listeners.Store(ln.Addr().String(), n)
	return &countingListener{Listener: ln, open: n}, nil
}

type countingListener struct {
	net.Listener
	open *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Add(1)
	return &countingConn{Conn: c, open: l.open}, nil
}

func (l *countingListener) Close() error {
	listeners.Delete(l.Listener.Addr().String())
	return l.Listener.Close()
}

type countingConn struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *countingConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// listenEndpoint turns "tcp://HOST:PORT" into the counting transport's
// endpoint.
func listenEndpoint(ep string) (string, error) {
	registerOnce.Do(func() {
		registerErr = zmq4.RegisterTransport(scheme, countingTransport{transport.New("tcp")})
	})
	if registerErr != nil {
		return "", registerErr
	}
	rest, ok := strings.CutPrefix(ep, "tcp://")
	if !ok {
		return "", fmt.Errorf("endpoint %q: only tcp://HOST:PORT is served", ep)
	}
	return scheme + "://" + rest, nil
}

// openConns is the number of webapp connections open on the listener at
// addr.
func openConns(addr string) int64 {
	if v, ok := listeners.Load(addr); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}
