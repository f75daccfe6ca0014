package bridge

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

// rawDial connects over plain TCP from the local IP from (any if empty),
// once the bridge listens.
func rawDial(t *testing.T, r *rig, from string) net.Conn {
	t.Helper()
	var d net.Dialer
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	deadline := time.Now().Add(wait)
	for {
		c, err := d.Dial("tcp", strings.TrimPrefix(r.endpoint, "tcp://"))
		if err == nil {
			t.Cleanup(func() { c.Close() })
			// Only keeps a broken bridge from hanging the test.
			_ = c.SetReadDeadline(time.Now().Add(wait))
			return c
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readToEnd reads what the bridge sends until it closes the connection.
func readToEnd(t *testing.T, c net.Conn) []byte {
	t.Helper()
	b, err := io.ReadAll(c)
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the bridge kept the connection open")
	}
	return b
}

// handshaken is a connection that has done its ZMTP handshake with the
// bridge's zmq4: it has the bridge's greeting and READY.
func handshaken(t *testing.T, r *rig, from string) net.Conn {
	t.Helper()
	c := rawDial(t, r, from)
	if _, err := c.Write(cat(nullGreeting(), zmtpReady())); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, greetingLen+2)
	if _, err := io.ReadFull(c, head); err != nil {
		t.Fatal(err)
	}
	size := uint64(head[greetingLen+1])
	if head[greetingLen]&flagLong != 0 {
		long := make([]byte, 8)
		copy(long, head[greetingLen+1:])
		if _, err := io.ReadFull(c, long[1:]); err != nil {
			t.Fatal(err)
		}
		size = binary.BigEndian.Uint64(long)
	}
	if _, err := io.ReadFull(c, make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBridgeHostilePeers: a peer that announces sizes zmq4 would
// allocate, or sends bytes zmq4 would panic on, loses its connection; one
// that says nothing keeps no one out; the bridge serves a webapp as
// before.
func TestBridgeHostilePeers(t *testing.T) {
	const maxMessage = 1 << 16
	r := newRig(t)
	r.stopBridge()
	r.bridgeOpts = func(o *Options) {
		o.MaxMessageBytes = maxMessage
		o.HandshakeTimeout = time.Hour // the silent peers stay
	}
	r.startBridge(t)
	for _, data := range [][]byte{nil, nullGreeting()[:20], nullGreeting()} {
		c := rawDial(t, r, "")
		if _, err := c.Write(data); err != nil {
			t.Fatal(err)
		}
	}

	want := map[string]uint64{}
	for _, tc := range hostileStreams(maxMessage + envelopeBytes) {
		t.Run(tc.name, func(t *testing.T) {
			c := rawDial(t, r, "")
			if _, err := c.Write(tc.data); err != nil {
				t.Fatal(err)
			}
			if tc.reason == "handshake-incomplete" {
				_ = c.(*net.TCPConn).CloseWrite()
			}
			readToEnd(t, c)
			want[tc.reason]++
		})
	}
	if got := r.bridge.Stats().Closed; !maps.Equal(got, want) {
		t.Errorf("closed connections by reason: %v, want %v", got, want)
	}

	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "after"})
	if m := c.recv(); m["@type"] != "BackendUpdateEnvironments" {
		t.Fatalf("hello after hostile peers: %v", m)
	}
	c.sendRaw(make([]byte, maxMessage+1)) // within the framing's room, over the message limit
	if m := c.recv(); m["@type"] != "Unknown" {
		t.Fatalf("answer to a message over the limit: %v", m)
	}
	c.send("Ping", nil)
	if m := c.recv(); m["@type"] != "Pong" {
		t.Fatalf("ping: %v", m)
	}
	if n := r.bridge.Stats().Conns; n != 1 {
		t.Errorf("%d connections open, want the webapp's", n)
	}
}

// TestBridgeConnLimits: connections over the bounds, per address and in
// all, are closed at once; a webapp gets in again when one is gone.
func TestBridgeConnLimits(t *testing.T) {
	r := newRig(t)
	r.stopBridge()
	r.bridgeOpts = func(o *Options) { o.MaxConns, o.MaxConnsPerAddr = 3, 2 }
	r.startBridge(t)

	first := handshaken(t, r, "127.0.0.1")
	handshaken(t, r, "127.0.0.1")
	if b := readToEnd(t, rawDial(t, r, "127.0.0.1")); len(b) != 0 {
		t.Fatalf("a third connection from one address got %q", b)
	}
	handshaken(t, r, "127.0.0.2")
	if b := readToEnd(t, rawDial(t, r, "127.0.0.3")); len(b) != 0 {
		t.Fatalf("a fourth connection got %q", b)
	}
	st := r.bridge.Stats()
	if want := map[string]uint64{"too-many-conns": 1, "too-many-conns-from-addr": 1}; st.Conns != 3 || !maps.Equal(st.Closed, want) {
		t.Fatalf("stats %+v, want 3 connections and closed %v", st, want)
	}

	first.Close()
	for deadline := time.Now().Add(wait); r.bridge.Stats().Conns != 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a closed connection is still counted")
		}
	}
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	if m := c.recv(); m["@type"] != "BackendUpdateEnvironments" {
		t.Fatalf("hello: %v", m)
	}
}

// INGInious' protocol has no credentials: a connection from an address
// inginious.allow does not list is closed before its handshake (by
// default, any address but loopback); one it lists is served.
func TestBridgeAllowList(t *testing.T) {
	r := newRig(t)
	r.stopBridge()
	r.bridgeOpts = func(o *Options) { o.Allow = []string{"127.0.0.2", "127.0.3.0/24"} }
	r.startBridge(t)

	for _, from := range []string{"127.0.0.1", "127.0.0.4"} {
		if b := readToEnd(t, rawDial(t, r, from)); len(b) != 0 {
			t.Fatalf("a connection from %s, not listed, got %q", from, b)
		}
	}
	handshaken(t, r, "127.0.0.2")
	handshaken(t, r, "127.0.3.9")
	st := r.bridge.Stats()
	if want := map[string]uint64{"not-allowed": 2}; st.Conns != 2 || !maps.Equal(st.Closed, want) {
		t.Fatalf("stats %+v, want 2 connections and closed %v", st, want)
	}
}

func TestParseAllow(t *testing.T) {
	g := &guard{}
	var err error
	if g.allow, err = parseAllow(nil); err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{"127.0.0.1": true, "127.9.9.9": true, "::1": true, "::ffff:127.0.0.1": true,
		"10.0.0.1": false, "::2": false, "fe80::1%eth0": false, "not an ip": false} {
		if got := g.allowed(host); got != want {
			t.Errorf("default: allowed(%q) = %v, want %v", host, got, want)
		}
	}
	if g.allow, err = parseAllow([]string{"10.1.2.0/24", " 192.168.0.7 ", "2001:db8::/32", "::ffff:10.9.9.9"}); err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{"10.1.2.200": true, "10.1.3.1": false, "192.168.0.7": true, "192.168.0.8": false,
		"2001:db8::5": true, "10.9.9.9": true, "127.0.0.1": false} {
		if got := g.allowed(host); got != want {
			t.Errorf("allowed(%q) = %v, want %v", host, got, want)
		}
	}
	for _, bad := range []string{"10.1.2.0/33", "host.example", ""} {
		if _, err := parseAllow([]string{bad}); err == nil {
			t.Errorf("parseAllow(%q) took it", bad)
		}
	}
}

// A second submission of a job id the bridge follows, from another
// webapp connection, is refused without touching the first: the first's
// result goes to its own webapp only.
func TestBridgeDuplicateJobIDTakesNothing(t *testing.T) {
	r := newRig(t)
	victim, thief := r.dial(t), r.dial(t)
	for _, c := range []*webappClient{victim, thief} {
		c.send("ClientHello", map[string]any{"name": "webapp"})
		if m := c.recv(); m["@type"] != "BackendUpdateEnvironments" {
			t.Fatalf("hello: %v", m)
		}
	}
	const id = "33333333-3333-3333-3333-333333333333"
	victim.send("ClientNewJob", newJobFields(id, "algo", map[string]any{"sleep": "500ms", "grade": 77.0, "text": "secret feedback"}))
	if m := victim.recv("BackendUpdateEnvironments"); m["@type"] != "BackendJobStarted" || m["job_id"] != id {
		t.Fatalf("started: %v", m)
	}
	stolen := newJobFields(id, nil, map[string]any{})
	delete(stolen, "task_id") // a taskless job: no task folder to find
	thief.send("ClientNewJob", stolen)
	if m := thief.recv("BackendUpdateEnvironments", "Pong"); m["@type"] != "BackendJobDone" || fmt.Sprint(m["result"]) != "[crash A job with this id is already running.]" {
		t.Fatalf("the thief's submission: %v", m)
	}
	done := victim.recv("BackendUpdateEnvironments", "Pong")
	if done["@type"] != "BackendJobDone" || done["job_id"] != id || done["grade"] != 77.0 {
		t.Fatalf("the victim's result: %v", done)
	}
	thief.send("Ping", nil)
	if m := thief.recv("BackendUpdateEnvironments"); m["@type"] != "Pong" {
		t.Fatalf("the thief got %v", m)
	}
}

// A connection that names a webapp's routing identity (which the bridge
// logs) is not that webapp: it gets none of its messages and speaks for
// itself only. zmq4 routes by identity, and took a peer's own before.
func TestBridgeIdentityIsNotTheClients(t *testing.T) {
	r := newRig(t)
	victim := r.dial(t)
	victim.send("ClientHello", map[string]any{"name": "webapp"})
	if m := victim.recv(); m["@type"] != "BackendUpdateEnvironments" {
		t.Fatalf("hello: %v", m)
	}
	var vid string
	r.bridge.mu.Lock()
	for id := range r.bridge.clients {
		vid = id
	}
	r.bridge.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sck := zmq4.NewDealer(ctx, zmq4.WithID(zmq4.SocketIdentity(vid)), zmq4.WithTimeout(5*time.Second))
	defer sck.Close()
	if err := sck.Dial(r.endpoint); err != nil {
		t.Fatal(err)
	}
	thief := &webappClient{t: t, sck: sck}
	// Its ping is a new client's, not the webapp's: it is told the
	// environments, as a webapp that said hello.
	thief.send("Ping", nil)
	if m := thief.recv(); m["@type"] != "BackendUpdateEnvironments" {
		t.Fatalf("the thief's ping was answered %v, as the webapp's", m)
	}
	if m := thief.recv(); m["@type"] != "Pong" {
		t.Fatalf("the thief's ping: %v", m)
	}
	const id = "44444444-4444-4444-4444-444444444444"
	victim.send("ClientNewJob", newJobFields(id, "algo", map[string]any{"grade": 77.0, "text": "secret feedback"}))
	if done := victim.recv("BackendUpdateEnvironments", "BackendJobStarted", "Pong"); done["@type"] != "BackendJobDone" || done["grade"] != 77.0 {
		t.Fatalf("the victim's result: %v", done)
	}
	// Whatever the thief got before the answer to this ping was sent to
	// the victim's identity.
	thief.send("Ping", nil)
	if m := thief.recv(); m["@type"] != "Pong" {
		t.Fatalf("the thief got %v", m)
	}
}

// A refused job's answer names what was wrong with it, cut: a course
// name of a MiB is not sent back whole (a peer that reads nothing then
// held every webapp's messages for longer with each).
func TestBridgeRefusalsAreShort(t *testing.T) {
	r := newRig(t)
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": strings.Repeat("w", 1<<20)})
	c.recv()
	const id = "55555555-5555-5555-5555-555555555555"
	c.send("ClientNewJob", newJobFields(id, "a/"+strings.Repeat("x", 1<<20), map[string]any{}))
	m := c.recv("BackendUpdateEnvironments", "Pong")
	res, _ := m["result"].([]any)
	if m["@type"] != "BackendJobDone" || m["job_id"] != id || len(res) != 2 {
		t.Fatalf("answer %.200v", m)
	}
	if text, _ := res[1].(string); len(text) > 8<<10 || !strings.HasPrefix(text, `bad course or task name "a/xxx`) {
		t.Errorf("crash text of %d bytes: %.100q", len(text), text)
	}
	// A job id of a MiB is no webapp's: no answer carries it back. Its
	// refusal would come before the result of a job run after it.
	c.send("ClientNewJob", newJobFields(strings.Repeat("j", 1<<20), "algo", map[string]any{}))
	const next = "66666666-6666-6666-6666-666666666666"
	c.send("ClientNewJob", newJobFields(next, "algo", map[string]any{"grade": 50.0}))
	for {
		m := c.recv("BackendUpdateEnvironments", "BackendJobStarted")
		if id, _ := m["job_id"].(string); len(id) > 1000 {
			t.Fatalf("answered the MiB id: %.200v", m)
		}
		if m["job_id"] == next {
			break
		}
	}
}

// TestRefusalsDoNotFloodTheLog: every refused connection is counted, but
// only a few a minute are logged (a line each was a line on the
// operator's disk per connection of a stranger's).
func TestRefusalsDoNotFloodTheLog(t *testing.T) {
	var log bytes.Buffer
	g := newGuard(Options{}, slog.New(slog.NewTextHandler(&log, nil)))
	for i := range 1000 {
		g.refuse(fmt.Sprintf("10.0.%d.%d:4000", i/250, i%250), errNotAllowed)
	}
	if n := strings.Count(log.String(), "INGInious connection closed"); n == 0 || n > 10 {
		t.Errorf("%d lines for 1000 refusals:\n%s", n, log.String())
	}
	if g.closed["not-allowed"] != 1000 {
		t.Errorf("counted %d refusals, want 1000", g.closed["not-allowed"])
	}
}
