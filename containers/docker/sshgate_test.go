package docker

import (
	"net"
	"testing"
)

// gateConn records whether the gate closed it (the gate calls nothing else).
type gateConn struct {
	net.Conn
	closed bool
}

func (c *gateConn) Close() error { c.closed = true; return nil }

func testGate() *sshGate {
	return newSSHGate(SSHOptions{MaxPending: 4, MaxPendingPerSource: 2, MaxConns: 1})
}

func TestSSHGate_PendingPerSourceAndServer(t *testing.T) {
	g := testGate()
	admit := func(source string) string {
		id, _ := g.admit(&gateConn{}, source)
		return id
	}
	a1, a2 := admit("10.0.0.1"), admit("10.0.0.1")
	if a1 == "" || a2 == "" || a1 == a2 {
		t.Fatalf("ids %q %q", a1, a2)
	}
	if id := admit("10.0.0.1"); id != "" {
		t.Error("a third pending connection of one source was admitted")
	}
	// Another source still gets in while the first holds its maximum.
	if admit("10.0.0.2") == "" {
		t.Fatal("another source was refused")
	}
	// A connection that ends frees its source's slot.
	g.release(a1)
	if admit("10.0.0.1") == "" {
		t.Error("the source's slot was not freed")
	}
	// Full, and every source holds as many as a newcomer's would: no
	// place is taken.
	g2 := newSSHGate(SSHOptions{MaxPending: 2, MaxPendingPerSource: 2, MaxConns: 1})
	if id, _ := g2.admit(&gateConn{}, "10.0.0.1"); id == "" {
		t.Fatal("refused")
	}
	if id, _ := g2.admit(&gateConn{}, "10.0.0.2"); id == "" {
		t.Fatal("refused")
	}
	if id, _ := g2.admit(&gateConn{}, "10.0.0.3"); id != "" {
		t.Error("a connection beyond the server's pending bound was admitted while no source held more than one")
	}
}

// TestSSHGate_FewSourcesCannotKeepOthersOut: before, three sources
// holding three pending connections each (the default bounds: 8 per
// session, 3 per source), re-opened as the handshake timeout closed them,
// kept every other client out of the session until it ended as nobody
// logged in. A newcomer from a source that holds fewer now takes the
// place of the oldest pending connection of the source holding the most.
func TestSSHGate_FewSourcesCannotKeepOthersOut(t *testing.T) {
	g := newSSHGate(SSHOptions{MaxPending: 8, MaxPendingPerSource: 3, MaxConns: 8})
	var flood []*gateConn
	for i := range 9 {
		c := &gateConn{}
		if id, _ := g.admit(c, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}[i%3]); id != "" {
			flood = append(flood, c)
		}
	}
	if len(flood) != 8 {
		t.Fatalf("%d flood connections admitted, want 8", len(flood))
	}
	teacher := &gateConn{}
	id, why := g.admit(teacher, "192.0.2.7")
	if id == "" {
		t.Fatalf("a client from a fourth source was refused while three sources held every place: %s", why)
	}
	// Sources 10.0.0.1 and .2 hold three each: the oldest of one of
	// them (flood[0] or flood[1]) gave its place.
	if closed := flood[0].closed != flood[1].closed; !closed {
		t.Error("not exactly one of the oldest connections of the busiest sources was closed")
	}
	for _, c := range flood[2:] {
		if c.closed {
			t.Error("a newer connection was closed")
		}
	}
	// The flood comes back: it takes its own sources' places, never the
	// newcomer's, which is alone on its source.
	for i := range 20 {
		c := &gateConn{}
		if fid, _ := g.admit(c, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}[i%3]); fid != "" {
			flood = append(flood, c)
		}
	}
	if teacher.closed {
		t.Error("the flood took the newcomer's place")
	}
	if g.npending > 8 {
		t.Errorf("%d pending, over the bound of 8", g.npending)
	}
	g.loggedIn(id)
	if teacher.closed || g.sessions != 1 {
		t.Errorf("the newcomer's login: closed %v, sessions %d", teacher.closed, g.sessions)
	}
	// Releasing an evicted connection (its relay ends) counts nothing twice.
	for _, gid := range []string{"1", "2", "3", "4", "5", "6", "7", "8"} {
		g.release(gid)
	}
	if g.npending < 0 || g.sessions != 1 {
		t.Errorf("after the releases: pending %d, sessions %d", g.npending, g.sessions)
	}
	sum := 0
	for _, k := range g.pending {
		sum += k
	}
	if sum != g.npending {
		t.Errorf("pending per source add up to %d, not %d", sum, g.npending)
	}
}

func TestSSHGate_LoginLeavesPending(t *testing.T) {
	g := testGate()
	c1 := &gateConn{}
	id1, _ := g.admit(c1, "10.0.0.1")
	if id2, _ := g.admit(&gateConn{}, "10.0.0.1"); id2 == "" {
		t.Fatal("refused")
	}
	g.loggedIn(id1)
	g.loggedIn(id1) // reported twice: counted once
	g.loggedIn("made-up")
	if c1.closed {
		t.Fatal("a login within the sessions' bound was closed")
	}
	// Logged in, id1 no longer holds a pending slot of its source.
	c3 := &gateConn{}
	id3, _ := g.admit(c3, "10.0.0.1")
	if id3 == "" {
		t.Fatal("a logged-in connection still counts as pending")
	}
	// One session at most: the next login is closed.
	g.loggedIn(id3)
	if !c3.closed {
		t.Error("a login beyond MaxConns was not closed")
	}
	g.release(id3)
	g.release(id1)
	if g.sessions != 0 || g.npending != 1 || len(g.conns) != 1 {
		t.Errorf("sessions %d, pending %d, conns %d after the releases", g.sessions, g.npending, len(g.conns))
	}
}

func TestSSHSource(t *testing.T) {
	for _, tt := range []struct{ addr, want string }{
		{"127.0.0.2:4000", "127.0.0.2"},
		{"[::ffff:10.1.2.3]:22", "10.1.2.3"},
		{"[2001:db8:1:2:aaaa::1]:5000", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::7]:5001", "2001:db8:1:2::/64"},
	} {
		a, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := sshSource(a); got != tt.want {
			t.Errorf("sshSource(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}
