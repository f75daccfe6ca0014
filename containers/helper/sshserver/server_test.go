package sshserver

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	testUser = "worker"
	testPass = "s3cret"
)

// noLeaks fails the test if goroutines started during it are still there
// a few seconds after it ended. Tests using it must not run in parallel.
func noLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	noLeaks(t)
	if opts.User == "" {
		opts.User, opts.Password = testUser, testPass
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Env == nil {
		opts.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + opts.Dir, "INGO_TEST=yes"}
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type conn struct {
	client *ssh.Client
	cancel context.CancelFunc
	served chan error
}

// tcpPair gives both ends of a loopback TCP connection (net.Pipe does not
// do: both SSH sides write their version before reading).
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}

// dial runs Serve on one end of a connection and an SSH client on the other.
func dial(t *testing.T, s *Server, user, pass string) (*conn, error) {
	t.Helper()
	cl, sv := tcpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{cancel: cancel, served: make(chan error, 1)}
	go func() { c.served <- s.Serve(ctx, sv) }()
	cc, chans, reqs, err := ssh.NewClientConn(cl, "test", &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.Password(pass)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		cl.Close()
		c.wait(t)
		cancel()
		return nil, err
	}
	c.client = ssh.NewClient(cc, chans, reqs)
	t.Cleanup(func() {
		c.client.Close()
		c.wait(t)
		cancel()
	})
	return c, nil
}

func (c *conn) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-c.served:
		c.served <- err // for a second wait
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
		return nil
	}
}

func mustDial(t *testing.T, s *Server) *conn {
	t.Helper()
	c, err := dial(t, s, testUser, testPass)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuth(t *testing.T) {
	s := newServer(t, Options{})
	for _, tt := range []struct{ name, user, pass string }{
		{"wrong password", testUser, "nope"},
		{"wrong user", "root", testPass},
		{"empty password", testUser, ""},
	} {
		if _, err := dial(t, s, tt.user, tt.pass); err == nil {
			t.Errorf("%s: accepted", tt.name)
		} else if !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	select {
	case <-s.Logins():
		t.Fatal("Logins closed without a login")
	default:
	}
	if s.Active() != 0 {
		t.Fatalf("Active %d", s.Active())
	}

	c := mustDial(t, s)
	select {
	case <-s.Logins():
	case <-time.After(5 * time.Second):
		t.Fatal("Logins not closed after a login")
	}
	if n := s.Active(); n != 1 {
		t.Fatalf("Active %d, want 1", n)
	}
	select {
	case <-s.Idle():
		t.Fatal("idle while connected")
	default:
	}
	c.client.Close()
	c.wait(t)
	if n := s.Active(); n != 0 {
		t.Fatalf("Active %d, want 0", n)
	}
	select {
	case <-s.Idle():
	case <-time.After(5 * time.Second):
		t.Fatal("Idle did not fire")
	}
}

func TestRefused(t *testing.T) {
	s := newServer(t, Options{})
	c := mustDial(t, s)
	for _, typ := range []string{"direct-tcpip", "forwarded-tcpip", "x11", "nonsense"} {
		payload := ssh.Marshal(struct {
			Host     string
			Port     uint32
			OrigHost string
			OrigPort uint32
		}{"127.0.0.1", 22, "127.0.0.1", 1234})
		_, _, err := c.client.OpenChannel(typ, payload)
		var oe *ssh.OpenChannelError
		if !errors.As(err, &oe) || oe.Reason != ssh.Prohibited {
			t.Errorf("%s: %v", typ, err)
		}
	}
	ok, _, err := c.client.SendRequest("tcpip-forward", true, ssh.Marshal(struct {
		Addr string
		Port uint32
	}{"0.0.0.0", 8080}))
	if ok || err != nil {
		t.Errorf("tcpip-forward: %v %v", ok, err)
	}
	sess, err := c.client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestSubsystem("sftp"); err == nil {
		t.Error("subsystem accepted")
	}
	// The session still works after the refusals.
	if out, err := sess.Output("echo ok"); err != nil || string(out) != "ok\n" {
		t.Errorf("output %q, %v", out, err)
	}
}

func TestCancel(t *testing.T) {
	s := newServer(t, Options{})
	c := mustDial(t, s)
	sess, err := c.client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("echo $$; exec sleep 30"); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 0, 16)
	for b := make([]byte, 1); !bytes.HasSuffix(line, []byte("\n")); {
		if _, err := out.Read(b); err != nil {
			t.Fatal(err)
		}
		line = append(line, b[0])
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(line)))
	if err != nil {
		t.Fatal(err)
	}
	c.cancel()
	start := time.Now()
	if err := c.wait(t); !errors.Is(err, context.Canceled) {
		t.Errorf("Serve: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Serve took %v to return", d)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("sleep %d still there: %v", pid, err)
	}
}

func TestAuthTries(t *testing.T) {
	s := newServer(t, Options{})
	cl, sv := tcpPair(t)
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), sv) }()
	tries := 0
	_, _, _, err := ssh.NewClientConn(cl, "test", &ssh.ClientConfig{
		User: testUser,
		Auth: []ssh.AuthMethod{ssh.RetryableAuthMethod(ssh.PasswordCallback(func() (string, error) {
			tries++
			return "wrong", nil
		}), 10)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	cl.Close()
	if err == nil {
		t.Fatal("accepted")
	}
	if tries != 3 {
		t.Errorf("%d tries, want 3", tries)
	}
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
}
