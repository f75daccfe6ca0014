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
	if admit("10.0.0.2") == "" || admit("10.0.0.2") == "" {
		t.Fatal("another source was refused")
	}
	if admit("10.0.0.3") != "" {
		t.Error("a connection beyond the server's pending bound was admitted")
	}
	// A connection that ends frees its source's slot.
	g.release(a1)
	if admit("10.0.0.1") == "" {
		t.Error("the source's slot was not freed")
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
