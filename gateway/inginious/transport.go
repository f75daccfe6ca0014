package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"
)

// The bridge listens through its own zmq4 transport, "ingotcp" (plain
// TCP), for two reasons. A ZeroMQ ROUTER drops, without an error, what it
// sends to a peer that is gone: so that a result is acknowledged to ingo
// only when a webapp can receive it, the transport counts the webapp
// connections. And zmq4 trusts its peers (see zmtp.go and doc.go): the
// transport bounds the connections and checks what a peer sends before
// zmq4 reads it.
const scheme = "ingotcp"

var (
	registerOnce sync.Once
	registerErr  error
)

type guardTransport struct{ transport.Transport }

func (t guardTransport) Listen(ctx context.Context, addr string) (net.Listener, error) {
	g, _ := ctx.Value(guardKey{}).(*guard)
	if g == nil {
		g = newGuard(Options{}, slog.New(slog.DiscardHandler))
	}
	ln, err := t.Transport.Listen(ctx, addr)
	if err != nil {
		return nil, err
	}
	l := &guardListener{Listener: ln, g: g, ready: make(chan net.Conn), done: make(chan struct{}),
		byAddr: map[string]int{}, pending: map[*guardConn]struct{}{}}
	go l.acceptLoop()
	return l, nil
}

// guardListener accepts connections within the limits and does their
// handshake itself, each on its own: zmq4 does it in its accept loop, so
// that one peer that says nothing would keep every other one out.
type guardListener struct {
	net.Listener
	g         *guard
	ready     chan net.Conn // handshake done, for zmq4
	done      chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	open    int            // connections, in handshake or handed to zmq4
	byAddr  map[string]int // open, by remote IP
	pending map[*guardConn]struct{}
}

func (l *guardListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, say: the next may work.
			select {
			case <-l.done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		gc, err := l.admit(c)
		if err != nil {
			l.g.refuse(c.RemoteAddr().String(), err)
			c.Close()
			continue
		}
		go l.handshake(gc)
	}
}

// admit counts a new connection in, if the limits leave room for it.
func (l *guardListener) admit(c net.Conn) (*guardConn, error) {
	ip := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	if !l.g.allowed(ip) {
		return nil, fmt.Errorf("%w: %s", errNotAllowed, ip)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.g.maxConns {
		return nil, fmt.Errorf("%w: %d open", errTooManyConns, l.open)
	}
	if l.byAddr[ip] >= l.g.maxPerAddr {
		return nil, fmt.Errorf("%w: %d open from %s", errTooManyFromAddr, l.byAddr[ip], ip)
	}
	l.open++
	l.byAddr[ip]++
	gc := newGuardConn(c, l.g, func(gc *guardConn) { l.release(gc, ip) })
	l.pending[gc] = struct{}{}
	return gc, nil
}

func (l *guardListener) release(gc *guardConn, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byAddr[ip]--; l.byAddr[ip] <= 0 {
		delete(l.byAddr, ip)
	}
	if _, ok := l.pending[gc]; ok {
		delete(l.pending, gc)
	} else {
		l.g.served.Add(-1)
	}
}

func (l *guardListener) handshake(gc *guardConn) {
	if err := gc.handshake(l.g.handshakeTimeout); err != nil {
		l.g.refuse(gc.RemoteAddr().String(), err)
		gc.Close()
		return
	}
	l.mu.Lock()
	_, ok := l.pending[gc]
	delete(l.pending, gc)
	if ok {
		l.g.served.Add(1)
	}
	l.mu.Unlock()
	if !ok {
		return // the listener closed it
	}
	select {
	case l.ready <- gc:
	case <-l.done:
		gc.Close()
	}
}

func (l *guardListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *guardListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	err := l.Listener.Close()
	l.mu.Lock()
	pending := make([]*guardConn, 0, len(l.pending))
	for gc := range l.pending {
		pending = append(pending, gc)
	}
	l.mu.Unlock()
	for _, gc := range pending {
		gc.Close()
	}
	return err
}

// listenEndpoint turns "tcp://HOST:PORT" into the guarded transport's
// endpoint.
func listenEndpoint(ep string) (string, error) {
	registerOnce.Do(func() {
		registerErr = zmq4.RegisterTransport(scheme, guardTransport{transport.New("tcp")})
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
