package httpserve

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"sync"
)

// limitConns bounds the connections of ln (see the package doc): at most
// lim.MaxConns at once, and lim.MaxConnsPerAddr not yet trusted from one
// address. When all places are taken, a newcomer takes the place of the
// oldest untrusted connection of the address holding the most untrusted
// ones, if it holds fewer itself. Others are closed as they are
// accepted, and logged (log is rate-limited).
func limitConns(ln net.Listener, lim Limits, log *slog.Logger) *connLimiter {
	return &connLimiter{Listener: ln, lim: lim, log: log, untrusted: map[netip.Prefix][]*limitedConn{}}
}

type connLimiter struct {
	net.Listener
	lim Limits
	log *slog.Logger

	mu        sync.Mutex
	open      int                              // trusted or not
	untrusted map[netip.Prefix][]*limitedConn // oldest first
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc := &limitedConn{Conn: c, l: l, addr: addressOf(c)}
		evicted, why := l.admit(lc)
		if why != "" {
			_ = c.Close()
			l.log.Warn("HTTP connection refused: "+why, "from", lc.addr.String())
			continue
		}
		if evicted != nil {
			_ = evicted.Close()
			l.log.Warn("HTTP connection closed for one from an address that holds fewer", "from", evicted.addr.String())
		}
		return lc, nil
	}
}

// admit counts c in, or says why it is refused; evicted is a connection
// whose place c took, to be closed.
func (l *connLimiter) admit(c *limitedConn) (evicted *limitedConn, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	mine := len(l.untrusted[c.addr])
	if mine >= l.lim.MaxConnsPerAddr {
		return nil, "too many connections from this address"
	}
	if l.open >= l.lim.MaxConns {
		var most netip.Prefix
		for a, cs := range l.untrusted {
			if len(cs) > len(l.untrusted[most]) {
				most = a
			}
		}
		if len(l.untrusted[most]) <= mine+1 {
			return nil, "too many connections"
		}
		evicted = l.untrusted[most][0]
		l.dropLocked(evicted)
		evicted.counted = false
		l.open--
	}
	l.open++
	l.untrusted[c.addr] = append(l.untrusted[c.addr], c)
	c.counted = true
	return evicted, ""
}

// trust takes c out of its address's untrusted ones: it counts against
// MaxConns only, and is never closed for another.
func (l *connLimiter) trust(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.counted && !c.trusted {
		l.dropLocked(c)
		c.trusted = true
	}
}

// leave gives c's place back, if it still holds one.
func (l *connLimiter) leave(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !c.counted {
		return
	}
	if !c.trusted {
		l.dropLocked(c)
	}
	c.counted = false
	l.open--
}

// dropLocked removes c from its address's untrusted ones.
func (l *connLimiter) dropLocked(c *limitedConn) {
	cs := l.untrusted[c.addr]
	for i, x := range cs {
		if x == c {
			if len(cs) == 1 {
				delete(l.untrusted, c.addr)
			} else {
				l.untrusted[c.addr] = append(cs[:i:i], cs[i+1:]...)
			}
			return
		}
	}
}

// addressOf is the address c counts under: its IPv4 address, or the /64
// of its IPv6 one.
func addressOf(c net.Conn) netip.Prefix {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// limitedConn gives its place back when it is closed. counted and
// trusted are its limiter's, under its lock.
type limitedConn struct {
	net.Conn
	l                *connLimiter
	addr             netip.Prefix
	counted, trusted bool
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.l.leave(c)
	return err
}

// CloseWrite passes on a half close (net/http's on a request it refuses).
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// connKey is the context key of a request's *limitedConn.
type connKey struct{}

// connContext is http.Server's ConnContext: it puts the connection in its
// requests' context, for Trust.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if lc, ok := c.(*limitedConn); ok {
		return context.WithValue(ctx, connKey{}, lc)
	}
	return ctx
}

// Trust marks the connection of a request served by Serve as one of
// someone trusted (its request carried a valid token): it no longer
// counts against its address's bound, and is never closed to make room
// for another. A request that did not come through Serve is ignored.
func Trust(ctx context.Context) {
	if lc, ok := ctx.Value(connKey{}).(*limitedConn); ok {
		lc.l.trust(lc)
	}
}
