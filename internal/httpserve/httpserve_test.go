package httpserve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/logging"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// start serves h on a loopback port with lim (and TLS when tc is set)
// until the test ends, and returns the address.
func start(t *testing.T, h http.Handler, lim Limits, tc *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, Options{TLS: tc, Limits: lim}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// dialFrom connects to addr from the loopback address ip.
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// held: the server keeps c open (a read waits), rather than closing it.
func held(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestConnLimits: connections over the per-address bound are closed as
// they come; once all places are taken, a newcomer takes the place of the
// oldest connection of the address holding the most if that one holds
// more than the newcomer's would, and is closed otherwise (its address
// holding some already).
func TestConnLimits(t *testing.T) {
	t.Parallel()
	addr := start(t, http.NotFoundHandler(), Limits{MaxConns: 4, MaxConnsPerAddr: 2}, nil)
	a1, a2 := dialFrom(t, "127.0.0.1", addr), dialFrom(t, "127.0.0.1", addr)
	if !held(a1) || !held(a2) {
		t.Fatal("the first two connections from 127.0.0.1 were closed")
	}
	if held(dialFrom(t, "127.0.0.1", addr)) {
		t.Error("a third connection from 127.0.0.1 was kept (per-address bound 2)")
	}
	b1, b2 := dialFrom(t, "127.0.0.2", addr), dialFrom(t, "127.0.0.2", addr)
	if !held(b1) || !held(b2) {
		t.Fatal("connections from another address were closed")
	}
	// All four places taken: 127.0.0.3 holds none, 127.0.0.1 two.
	c1 := dialFrom(t, "127.0.0.3", addr)
	if !held(c1) {
		t.Fatal("a newcomer from an address holding nothing was closed while others held two each")
	}
	if held(a1) {
		t.Error("the oldest connection of the address holding the most was not closed for the newcomer")
	}
	if !held(a2) || !held(b1) || !held(b2) {
		t.Error("another connection than the oldest of the address holding the most was closed")
	}
	// Now 127.0.0.3 holds one, 127.0.0.2 two: a second from 127.0.0.3
	// would only trade places.
	if held(dialFrom(t, "127.0.0.3", addr)) {
		t.Error("an address took a place from one holding no more than itself would")
	}
	b1.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !held(dialFrom(t, "127.0.0.4", addr)) {
		if time.Now().After(deadline) {
			t.Fatal("the place of a closed connection was never given back")
		}
	}
	if !held(a2) || !held(b2) || !held(c1) {
		t.Error("a free place was taken from a connection")
	}
}

// TestResponsesNotTakenEnd: a client that asks for a large answer and
// reads none of it holds its handler for WriteStall, not for ever; over
// HTTP/1 and over HTTP/2 with a flow-control window of 0.
func TestResponsesNotTakenEnd(t *testing.T) {
	t.Parallel()
	var running, entered atomic.Int64
	ended := make(chan error, 100)
	big := make([]byte, 8<<20)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		entered.Add(1)
		running.Add(1)
		defer running.Add(-1)
		_, err := w.Write(big)
		ended <- err
	})
	lim := Limits{WriteStall: 300 * time.Millisecond}

	t.Run("HTTP/1", func(t *testing.T) {
		c := dialFrom(t, "127.0.0.1", start(t, h, lim, nil))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-ended:
			if err == nil {
				t.Error("the write of 8 MiB nobody reads succeeded")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the handler still writes to a client that reads nothing")
		}
	})

	t.Run("HTTP/2", func(t *testing.T) {
		entered.Store(0)
		addr := start(t, h, lim, serverTLS(t))
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.ConnectionState().NegotiatedProtocol != "h2" {
			t.Fatalf("protocol %q, want h2", c.ConnectionState().NegotiatedProtocol)
		}
		h2 := newH2Client(t, c)
		h2.write(h2Frame(0x4, 0, 0, []byte{0, 4, 0, 0, 0, 0})) // SETTINGS_INITIAL_WINDOW_SIZE = 0
		const streams = 64
		for i := range streams {
			h2.write(h2Frame(0x1, 0x5, uint32(2*i+1), h2Get(addr))) // HEADERS, END_STREAM|END_HEADERS
		}
		// Every stream ends: those over MaxStreams refused at once, the
		// others reset once their answer waited WriteStall.
		deadline := time.After(10 * time.Second)
		for h2.resets() < streams {
			select {
			case <-deadline:
				t.Fatalf("%d of %d streams reset, %d handlers still writing", h2.resets(), streams, running.Load())
			case <-time.After(20 * time.Millisecond):
			}
		}
		if n := entered.Load(); n > MaxStreams {
			t.Errorf("%d handlers ran for one connection, over MaxStreams (%d)", n, MaxStreams)
		}
		for running.Load() > 0 {
			select {
			case <-deadline:
				t.Fatalf("%d handlers still writing", running.Load())
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

// TestLongAnswersLive: the deadline moves with each write, so an answer
// written over longer than WriteStall (an event stream) reaches a client
// that reads it, and a kept-alive connection's next request is not held
// to the deadline of the one before (its 100 Continue is written, on the
// handler's first read).
func TestLongAnswersLive(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			_, _ = w.Write(b)
			return
		}
		for i := range 8 {
			_, _ = io.WriteString(w, strings.Repeat("x", i+1)+"\n")
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	})
	addr := start(t, h, Limits{WriteStall: 250 * time.Millisecond}, nil)
	c := dialFrom(t, "127.0.0.1", addr)
	br := bufio.NewReader(c)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil || strings.Count(string(body), "\n") != 8 {
		t.Fatalf("an answer of 800 ms, written as it goes: %q, %v", body, err)
	}
	time.Sleep(400 * time.Millisecond) // past the last write's deadline
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("the next request on the connection got %q, %v; want 100 Continue", line, err)
	}
	_, _ = br.ReadString('\n')
	if _, err := io.WriteString(c, "hello"); err != nil {
		t.Fatal(err)
	}
	res, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(res.Body); string(b) != "hello" {
		t.Errorf("echo %q", b)
	}
}

// TestHeadersBounded: a request whose headers are over MaxHeaderBytes is
// refused (net/http's default took a MiB).
func TestHeadersBounded(t *testing.T) {
	t.Parallel()
	addr := start(t, http.NotFoundHandler(), Limits{}, nil)
	c := dialFrom(t, "127.0.0.1", addr)
	req := "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("a", 2*MaxHeaderBytes) + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("headers of %d bytes: %v, %v; want 431", 2*MaxHeaderBytes, res, err)
	}
}

func serverTLS(t *testing.T) *tls.Config {
	_, tc := testutil.ServerTLS(t)
	return tc
}

// TestAddressOf: IPv4 addresses count one by one, IPv6 ones by /64.
func TestAddressOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ remote, want string }{
		{"192.0.2.7:4000", "192.0.2.7/32"},
		{"[::ffff:192.0.2.7]:4000", "192.0.2.7/32"},
		{"[2001:db8:1:2:aaaa::1]:4000", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::9]:4000", "2001:db8:1:2::/64"},
		{"[::1]:4000", "::/64"},
	} {
		c := fakeConn{remote: tc.remote}
		if got := addressOf(c).String(); got != tc.want {
			t.Errorf("%s counts as %s, want %s", tc.remote, got, tc.want)
		}
	}
}

type fakeConn struct {
	net.Conn
	remote string
}

func (c fakeConn) RemoteAddr() net.Addr { return addrString(c.remote) }

type addrString string

func (a addrString) Network() string { return "tcp" }
func (a addrString) String() string  { return string(a) }

// TestTrustedConnsKeepTheirPlace: a connection whose request was trusted
// (Trust) counts against MaxConns only: not against its address's bound,
// and it is never closed to make room. (A read that timed out leaves a TLS
// connection failing the same way: each is asked once whether it is
// held; the trusted one serves a request at the end.)
func TestTrustedConnsKeepTheirPlace(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/trust" {
			Trust(r.Context(), "frontend:x")
		}
	})
	addr := start(t, h, Limits{MaxConns: 3, MaxConnsPerAddr: 2}, serverTLS(t))
	dialTLS := func(ip string) *tls.Conn {
		c := tls.Client(dialFrom(t, ip, addr), &tls.Config{InsecureSkipVerify: true})
		if err := c.Handshake(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := dialTLS("127.0.0.1")
	if _, err := io.WriteString(a, "GET /trust HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if res, err := http.ReadResponse(bufio.NewReader(a), nil); err != nil || res.StatusCode != 200 {
		t.Fatalf("trusting request: %v, %v", res, err)
	} else if _, err := io.Copy(io.Discard, res.Body); err != nil {
		t.Fatal(err)
	}
	b1, b2 := dialTLS("127.0.0.2"), dialTLS("127.0.0.2")
	// All three places taken; 127.0.0.1 holds one trusted connection and
	// no untrusted one, so a newcomer from it takes 127.0.0.2's oldest.
	a2 := dialTLS("127.0.0.1")
	if kept2, kept1, keptB2 := held(a2), held(b1), held(b2); !kept2 || kept1 || !keptB2 {
		t.Fatalf("after a newcomer from the trusted address: kept a2 %v, b1 %v, b2 %v; want b1 alone closed", kept2, kept1, keptB2)
	}
	// 127.0.0.1 and 127.0.0.2 hold one untrusted each: a newcomer from
	// 127.0.0.3, which holds none, takes the oldest untrusted place (so
	// that many addresses holding one each keep nobody out), never the
	// trusted one's.
	if c := dialFrom(t, "127.0.0.3", addr); !held(c) {
		t.Error("a newcomer from an address holding nothing was refused")
	}
	if c := dialFrom(t, "127.0.0.3", addr); held(c) {
		t.Error("a second newcomer from 127.0.0.3 took a place from an address holding no more")
	}
	if _, err := io.WriteString(a, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatalf("the trusted connection was closed: %v", err)
	}
	_ = a.SetReadDeadline(time.Now().Add(5 * time.Second))
	if res, err := http.ReadResponse(bufio.NewReader(a), nil); err != nil || res.StatusCode != 200 {
		t.Errorf("the trusted connection was closed: %v, %v", res, err)
	}
}

// TestTrustedPerHolder: one token's holder (one course's web app, say)
// has a quarter of the places at most as trusted connections; beyond,
// its connections stay untrusted, bound by their address.
func TestTrustedPerHolder(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { Trust(r.Context(), "frontend:x") })
	addr := start(t, h, Limits{MaxConns: 8, MaxConnsPerAddr: 1}, nil)
	for i := range 3 {
		c := dialFrom(t, "127.0.0.1", addr)
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("request %d: %v, %v", i, res, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
	}
	// Two trusted (8/4), the third untrusted: 127.0.0.1 is at its bound.
	if held(dialFrom(t, "127.0.0.1", addr)) {
		t.Error("a holder's third connection was trusted beyond a quarter of the places")
	}
}

// TestUntrustedRequestsBounded: requests on untrusted connections being
// served at once are a quarter of MaxConns; one more is reset unanswered,
// and the bound frees as they end.
func TestUntrustedRequestsBounded(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var inside atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inside.Add(1)
		<-release
	})
	addr := start(t, h, Limits{MaxConns: 8, MaxConnsPerAddr: 8}, nil)
	send := func() net.Conn {
		c := dialFrom(t, "127.0.0.1", addr)
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		return c
	}
	send()
	send()
	deadline := time.Now().Add(5 * time.Second)
	for inside.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	third := send()
	if held(third) {
		t.Error("a third request on an untrusted connection was taken (bound 8/4)")
	}
	close(release)
	deadline = time.Now().Add(10 * time.Second)
	for {
		c := send()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil && res.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bound never freed: %v, %v", res, err)
		}
	}
}

// TestErrorLogLimitsHandshakesOnly: failed TLS handshakes, which anyone
// causes, are a few lines; a handler's panic always is one.
func TestErrorLogLimitsHandshakesOnly(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	base := slog.New(slog.NewTextHandler(&b, nil))
	l := errorLog(base, logging.Limited(base, time.Hour, 3))
	for range 100 {
		l.Printf("http: TLS handshake error from 192.0.2.1:4000: EOF")
	}
	for range 5 {
		l.Printf("http: panic serving 192.0.2.1:4000: boom")
	}
	if n := strings.Count(b.String(), "TLS handshake error"); n != 3 {
		t.Errorf("%d handshake lines of 100, want 3", n)
	}
	if n := strings.Count(b.String(), "panic serving"); n != 5 {
		t.Errorf("%d panic lines of 5", n)
	}
}

// TestTrustFreesItsPlace: a request whose connection Trust made trusted
// gives back its place among the untrusted ones at once: token holders'
// event streams, the first requests of their connections, took them all.
func TestTrustFreesItsPlace(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			Trust(r.Context(), "frontend:"+r.RemoteAddr)
			<-release
		}
	})
	addr := start(t, h, Limits{MaxConns: 8, MaxConnsPerAddr: 8}, nil)
	defer close(release)
	for range 3 { // the bound of untrusted requests is 2
		c := dialFrom(t, "127.0.0.1", addr)
		if _, err := io.WriteString(c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := dialFrom(t, "127.0.0.1", addr)
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil && res.StatusCode == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("three trusted streams kept a request out: %v, %v", res, err)
		}
	}
}
