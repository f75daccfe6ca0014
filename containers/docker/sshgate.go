package docker

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
)

// sshGate admits the TCP connections of one SSH server before the relay
// opens a stream for them.
//
// The relay only copies bytes, so it cannot see SSH authentication; the
// server in the container can, and the two cooperate:
//
//   - the relay names each connection (Header.ID) and its source
//     (Header.Remote: the IPv4 address, or the IPv6 /64, since one host
//     picks addresses in its /64 at will);
//   - the server closes a connection that has not authenticated within
//     the handshake timeout (SSHOptions.HandshakeTimeout, passed in the
//     job's SSH limits), delays password attempts after failures per
//     connection and per source, and writes Control.LoggedIn with the ID
//     on the KindSSHDebug stream when a connection authenticates;
//   - the gate counts a connection as pending until then: at most
//     MaxPendingPerSource pending per source and MaxPending per server are
//     admitted, the others are closed at once; a logged-in connection
//     leaves the pending counts and counts against MaxConns instead (the
//     gate closes one beyond it).
//
// So one source holds at most MaxPendingPerSource slots, each for the
// handshake timeout at most. When MaxPending are held, a newcomer whose
// source would then hold fewer than the source holding the most takes
// the place of that source's oldest pending connection (closed), as the
// HTTP listeners do: so a user from another source still gets in unless
// MaxPending sources hold one each. Before, three sources' three each
// (a few students' laptops, re-opening each connection as the handshake
// timeout closed it) kept everybody else out of the session until it
// ended as nobody logged in.
// A container that never reports logins only keeps its own connections
// pending: the bounds hold whatever it does. Sources are bounded by
// MaxPending, so the maps are too.
type sshGate struct {
	maxPending, maxPerSource, maxSessions int

	mu       sync.Mutex
	seq      uint64
	conns    map[string]*gated // by ID
	pending  map[string]int    // by source
	npending int
	sessions int
}

type gated struct {
	seq      uint64 // admission order
	source   string
	loggedIn bool
	// evicted: its place went to a newcomer (admit); it no longer counts
	// as pending, and its relay ends as the gate closed conn.
	evicted bool
	conn    net.Conn // closed when its login is one too many, or evicted
}

func newSSHGate(o SSHOptions) *sshGate {
	return &sshGate{
		maxPending: o.MaxPending, maxPerSource: o.MaxPendingPerSource, maxSessions: o.MaxConns,
		conns: map[string]*gated{}, pending: map[string]int{},
	}
}

// admit counts c as pending and names it, or says why it may not be
// relayed ("" id).
func (g *sshGate) admit(c net.Conn, source string) (id, refused string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.pending[source] >= g.maxPerSource:
		return "", "too many connections not logged in from this source"
	case g.npending >= g.maxPending:
		victim := g.busiestOldest(g.pending[source] + 1)
		if victim == nil {
			return "", "too many connections not logged in"
		}
		g.unpend(victim)
		victim.evicted = true
		_ = victim.conn.Close() // released when its relay ends
	}
	g.seq++
	id = strconv.FormatUint(g.seq, 10)
	g.conns[id] = &gated{seq: g.seq, source: source, conn: c}
	g.pending[source]++
	g.npending++
	return id, ""
}

// busiestOldest is the oldest pending connection of the source holding
// the most pending ones, if it holds more than n; else nil. The pending
// connections are MaxPending at most: a scan is cheap.
func (g *sshGate) busiestOldest(n int) *gated {
	busiest, most := "", 0
	for s, k := range g.pending {
		if k > most {
			busiest, most = s, k
		}
	}
	if most <= n {
		return nil
	}
	var oldest *gated
	for _, c := range g.conns {
		if c.source == busiest && !c.loggedIn && !c.evicted && (oldest == nil || c.seq < oldest.seq) {
			oldest = c
		}
	}
	return oldest
}

// loggedIn moves connection id from pending to sessions, or closes it
// when the sessions are full. Unknown IDs (gone already, or made up by
// the container) are ignored.
func (g *sshGate) loggedIn(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.conns[id]
	if c == nil || c.loggedIn || c.evicted {
		return
	}
	g.unpend(c)
	c.loggedIn = true
	g.sessions++
	if g.sessions > g.maxSessions {
		_ = c.conn.Close() // released when its relay ends
	}
}

// release forgets connection id, whose relay has ended.
func (g *sshGate) release(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.conns[id]
	if c == nil {
		return
	}
	delete(g.conns, id)
	switch {
	case c.loggedIn:
		g.sessions--
	case !c.evicted:
		g.unpend(c)
	}
}

func (g *sshGate) unpend(c *gated) {
	g.npending--
	if g.pending[c.source]--; g.pending[c.source] <= 0 {
		delete(g.pending, c.source)
	}
}

// sshSource names the source of a client address for the gate and the
// server's throttle: the IPv4 address, or the /64 of an IPv6 one.
func sshSource(a net.Addr) string {
	var ip netip.Addr
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ = netip.AddrFromSlice(ta.IP)
	} else if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return a.String()
	case ip.Is4():
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}
