package sshserver

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestSSHFailDelay(t *testing.T) {
	var got []time.Duration
	for n := range 8 {
		got = append(got, failDelay(n))
	}
	s := time.Second
	want := []time.Duration{0, s / 2, s, 2 * s, 4 * s, 5 * s, 5 * s, 5 * s}
	if !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
}

// waits records the delays the throttle asks for instead of sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) wait(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return nil
}

// take returns the delays asked for since the last take.
func (w *waits) take() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	d := w.d
	w.d = nil
	return d
}

// tryLogin runs Serve on a connection (wrap, if set, changes how the
// server sees it) and logs in with at most tries passwords from pass.
func tryLogin(t *testing.T, s *Server, wrap func(net.Conn) net.Conn, tries int, pass string) (attempts int, served, err error) {
	t.Helper()
	cl, sv := tcpPair(t)
	if wrap != nil {
		sv = wrap(sv)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), sv) }()
	cc, chans, reqs, err := ssh.NewClientConn(cl, "test", &ssh.ClientConfig{
		User: testUser,
		Auth: []ssh.AuthMethod{ssh.RetryableAuthMethod(ssh.PasswordCallback(func() (string, error) {
			attempts++
			return pass, nil
		}), tries)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err == nil {
		ssh.NewClient(cc, chans, reqs).Close()
	}
	cl.Close()
	select {
	case served = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	return attempts, served, err
}

func TestSSHThrottle_PerConnectionAndSource(t *testing.T) {
	var logins []net.Conn
	var mu sync.Mutex
	s := newServer(t, Options{OnLogin: func(c net.Conn) { mu.Lock(); logins = append(logins, c); mu.Unlock() }})
	w := &waits{}
	s.thr.wait = w.wait
	s2 := time.Second

	// A guesser: 3 attempts per connection, each later one delayed more.
	n, _, err := tryLogin(t, s, nil, 10, "wrong")
	if err == nil || n != 3 {
		t.Fatalf("%d attempts (want 3), err %v", n, err)
	}
	if got, want := w.take(), []time.Duration{0, s2 / 2, s2}; !slices.Equal(got, want) {
		t.Errorf("first connection's delays %v, want %v", got, want)
	}
	// A new connection from the same source starts where the source is.
	if _, _, err := tryLogin(t, s, nil, 1, "wrong"); err == nil {
		t.Fatal("accepted")
	}
	if got, want := w.take(), []time.Duration{2 * s2}; !slices.Equal(got, want) {
		t.Errorf("same source's delays %v, want %v", got, want)
	}
	// The right password waits as well (the wait comes before the check),
	// then forgets the source's failures.
	for _, want := range []time.Duration{4 * s2, 0} {
		if _, _, err := tryLogin(t, s, nil, 1, testPass); err != nil {
			t.Fatal(err)
		}
		if got := w.take(); !slices.Equal(got, []time.Duration{want}) {
			t.Errorf("login's delays %v, want [%v]", got, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logins) != 2 {
		t.Errorf("OnLogin called %d times, want 2", len(logins))
	}
}

// sourceless is a connection whose source is unknown (an agent that
// names none).
type sourceless struct{ net.Conn }

func (sourceless) RemoteAddr() net.Addr { return noAddr{} }

type noAddr struct{}

func (noAddr) Network() string { return "tcp" }
func (noAddr) String() string  { return "" }

func TestSSHThrottle_UnknownSource(t *testing.T) {
	s := newServer(t, Options{})
	w := &waits{}
	s.thr.wait = w.wait
	wrap := func(c net.Conn) net.Conn { return sourceless{c} }
	for range 2 {
		if n, _, err := tryLogin(t, s, wrap, 10, "wrong"); err == nil || n != 3 {
			t.Fatalf("%d attempts (want 3), err %v", n, err)
		}
		// Only the connection's own failures count.
		if got, want := w.take(), []time.Duration{0, time.Second / 2, time.Second}; !slices.Equal(got, want) {
			t.Errorf("delays %v, want %v", got, want)
		}
	}
}

func TestSSHHandshakeTimeout_Idle(t *testing.T) {
	s := newServer(t, Options{HandshakeTimeout: 200 * time.Millisecond})
	cl, sv := tcpPair(t)
	defer cl.Close()
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), sv) }()
	// The client sends nothing: the server says its version, then closes.
	_ = cl.SetReadDeadline(time.Now().Add(30 * time.Second)) // only against a hang
	_, err := io.ReadAll(cl)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the idle connection was not closed")
	}
	if err := <-done; !errors.Is(err, errHandshakeTimeout) {
		t.Errorf("Serve: %v, want %v", err, errHandshakeTimeout)
	}
}

func TestSSHHandshakeTimeout_EndsDelayedAttempt(t *testing.T) {
	s := newServer(t, Options{HandshakeTimeout: 200 * time.Millisecond})
	// A delay that would never end by itself.
	s.thr.wait = func(ctx context.Context, d time.Duration) error { <-ctx.Done(); return ctx.Err() }
	n, served, err := tryLogin(t, s, nil, 1, testPass)
	if err == nil || n != 1 {
		t.Fatalf("%d attempts, err %v", n, err)
	}
	if !errors.Is(served, errHandshakeTimeout) {
		t.Errorf("Serve: %v, want %v", served, errHandshakeTimeout)
	}
}
