package httpserve

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// limitConns bounds the connections of ln (see the package doc): at most
// lim.MaxConns at once, and lim.MaxConnsPerAddr not yet trusted from one
// address. When all places are taken, a newcomer takes the place of an
// untrusted connection (victimLocked) or is closed as it is accepted, and
// logged (log is rate-limited).
func limitConns(ln net.Listener, lim Limits, log *slog.Logger) *connLimiter {
	return &connLimiter{Listener: ln, lim: lim, log: log,
		untrusted: map[netip.Prefix][]*limitedConn{}, trustedBy: map[string]int{}}
}

type connLimiter struct {
	net.Listener
	lim Limits
	log *slog.Logger

	mu        sync.Mutex
	open      int                             // trusted or not
	untrusted map[netip.Prefix][]*limitedConn // oldest first
	trustedBy map[string]int                  // by whom they are trusted
	seq       uint64                          // of the last connection admitted
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
		if evicted = l.victimLocked(mine); evicted == nil {
			return nil, "too many connections"
		}
		l.leaveLocked(evicted)
	}
	l.open++
	l.seq++
	c.seq = l.seq
	l.untrusted[c.addr] = append(l.untrusted[c.addr], c)
	c.counted = true
	return evicted, ""
}

// victimLocked is the untrusted connection whose place a newcomer from an
// address holding mine untrusted ones takes, or nil: the oldest of the
// address holding the most (of several, the oldest of their oldest), if
// that holds more than the newcomer's would;
// else, for a newcomer whose address holds none, the oldest of all (so
// that many addresses holding one each keep nobody out).
func (l *connLimiter) victimLocked(mine int) *limitedConn {
	var most, oldest *limitedConn
	n := 0
	for _, cs := range l.untrusted {
		// Of addresses holding as many, the oldest connection goes.
		if len(cs) > n || len(cs) == n && cs[0].seq < most.seq {
			most, n = cs[0], len(cs)
		}
		if oldest == nil || cs[0].seq < oldest.seq {
			oldest = cs[0]
		}
	}
	switch {
	case n > mine+1:
		return most
	case mine == 0:
		return oldest
	}
	return nil
}

// trust takes c out of its address's untrusted ones, for who: it counts
// against MaxConns and who's bound only, and is never closed for another.
// Over who's bound it stays untrusted.
func (l *connLimiter) trust(c *limitedConn, who string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !c.counted || c.trusted.Load() || l.trustedBy[who] >= l.lim.maxTrusted() {
		return
	}
	l.dropLocked(c)
	c.trusted.Store(true)
	c.who = who
	l.trustedBy[who]++
}

// leave gives c's place back, if it still holds one.
func (l *connLimiter) leave(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.leaveLocked(c)
}

func (l *connLimiter) leaveLocked(c *limitedConn) {
	if !c.counted {
		return
	}
	if c.trusted.Load() {
		if l.trustedBy[c.who]--; l.trustedBy[c.who] <= 0 {
			delete(l.trustedBy, c.who)
		}
	} else {
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

// limitedConn gives its place back when it is closed. Its fields are its
// limiter's, under its lock; trusted may be read without.
type limitedConn struct {
	net.Conn
	l       *connLimiter
	addr    netip.Prefix
	seq     uint64
	counted bool
	trusted atomic.Bool
	who     string // trusted by
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

// Trust marks the connection of a request served by Serve as one of who,
// someone trusted (its request carried a valid token of theirs): it no
// longer counts against its address's bound, has the longer WriteStall,
// and is never closed to make room for another. Each who has a quarter
// of MaxConns; beyond, their connections stay untrusted. A request that
// did not come through Serve is ignored.
func Trust(ctx context.Context, who string) {
	lc := connOf(ctx)
	if lc == nil {
		return
	}
	// Most requests come on a connection trusted already: no lock then.
	if !lc.trusted.Load() {
		lc.l.trust(lc, who)
	}
	if sl, ok := ctx.Value(slotKey{}).(*slot); ok && lc.trusted.Load() {
		sl.free()
	}
}

func connOf(ctx context.Context) *limitedConn {
	lc, _ := ctx.Value(connKey{}).(*limitedConn)
	return lc
}
