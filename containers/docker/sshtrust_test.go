package docker

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// The attacks of issue 13 ("Trust"): students on the network of the SSH
// ports flood them with idle connections or guess passwords. 127.0.0.2 is
// the attacker, 127.0.0.1 (the default source towards the listen address)
// the teacher.
const attacker = "127.0.0.2"

// trustRuntime is a runtime with SSH on loopback ports and o's bounds.
func trustRuntime(t *testing.T, o SSHOptions) *Runtime {
	base := testutil.FreePorts(t, 4)
	o.Listen, o.PortMin, o.PortMax = "127.0.0.1", base, base+3
	return newTestRuntime(t, Options{SSH: o})
}

// dialFrom opens a TCP connection to the SSH server from address from.
func dialFrom(t *testing.T, from string, c sshCreds) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", net.JoinHostPort(c.host, strconv.Itoa(c.port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// greeted tells whether the SSH server says its version on conn (an
// admitted connection) rather than the relay closing it at once.
func greeted(t *testing.T, conn net.Conn) bool {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // only against a hang
	defer conn.SetReadDeadline(time.Time{})
	line, err := bufio.NewReader(conn).ReadString('\n')
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("neither a greeting nor a close")
	}
	return strings.HasPrefix(line, "SSH-2.0-")
}

// loginRun logs in as the teacher, runs a command, and logs out.
func loginRun(t *testing.T, c sshCreds) {
	t.Helper()
	cl, err := sshDial(c, c.password)
	if err != nil {
		t.Fatalf("the teacher cannot log in: %v", err)
	}
	defer cl.Close()
	if out := sshRunCmd(t, cl, "echo in"); out != "in\n" {
		t.Errorf("command output %q", out)
	}
}

func TestSSHTrust_FloodFromOneSource(t *testing.T) {
	t.Parallel()
	r := trustRuntime(t, SSHOptions{LoginTimeout: time.Minute, MaxSession: time.Minute, HandshakeTimeout: time.Minute})
	_, done, c := startSSHJob(t, r)
	// More idle connections than a server ever relays at once, from one
	// address: its maximum are held, the rest closed at once.
	held := 0
	for range 12 {
		if greeted(t, dialFrom(t, attacker, c)) {
			held++
		}
	}
	if want := r.opts.SSH.MaxPendingPerSource; held != want {
		t.Errorf("%d idle connections of one address held, want %d", held, want)
	}
	// The teacher, from another address, gets in while those are held.
	loginRun(t, c)
	jobEnds(t, done, "after the teacher's logout")
}

func TestSSHTrust_IdleConnectionClosed(t *testing.T) {
	t.Parallel()
	// The job outlives the test: only the handshake timeout may close.
	r := trustRuntime(t, SSHOptions{LoginTimeout: 10 * time.Minute, MaxSession: 10 * time.Minute, HandshakeTimeout: 2 * time.Second})
	_, done, c := startSSHJob(t, r)
	conn := dialFrom(t, attacker, c)
	if !greeted(t, conn) {
		t.Fatal("the connection was refused")
	}
	_ = conn.SetReadDeadline(time.Now().Add(90 * time.Second)) // only against a hang
	if _, err := io.ReadAll(conn); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the idle connection is still open")
	}
	loginRun(t, c)
	jobEnds(t, done, "after the teacher's logout")
}

// guess tries to log in from address from with up to tries wrong
// passwords, and says how many the server took and how long it took.
func guess(t *testing.T, c sshCreds, from string, tries int) (int, time.Duration) {
	t.Helper()
	conn := dialFrom(t, from, c)
	n := 0
	start := time.Now()
	_, _, _, err := ssh.NewClientConn(conn, conn.RemoteAddr().String(), &ssh.ClientConfig{
		User: c.user,
		Auth: []ssh.AuthMethod{ssh.RetryableAuthMethod(ssh.PasswordCallback(func() (string, error) {
			n++
			return "wrong-password", nil
		}), tries)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err == nil {
		t.Fatal("a wrong password was accepted")
	}
	return n, time.Since(start)
}

func TestSSHTrust_WrongPasswords(t *testing.T) {
	t.Parallel()
	r := trustRuntime(t, SSHOptions{LoginTimeout: time.Minute, MaxSession: time.Minute})
	_, done, c := startSSHJob(t, r)
	// The durations below are lower bounds: the server waits before it
	// answers an attempt, so no answer can come sooner, however fast or
	// slow the machine.
	n, took := guess(t, c, attacker, 10)
	if n != 3 {
		t.Errorf("%d attempts on one connection, want 3", n)
	}
	if min := 1500 * time.Millisecond; took < min {
		t.Errorf("3 failed attempts took %v: the 2nd and 3rd were not delayed (0.5 s, 1 s)", took)
	}
	// Hanging up saves nothing: the address's next attempt waits for its
	// 3 failures.
	if _, took := guess(t, c, attacker, 1); took < 2*time.Second {
		t.Errorf("the address's next attempt took %v: not delayed (2 s)", took)
	}
	loginRun(t, c)
	jobEnds(t, done, "after the teacher's logout")
}

// channelForger is what a student logged in by ssh_student runs: it opens
// the student helper's stdout, the channel to the agent, and writes yamux
// frames there opening five ssh_debug streams of its own (each would
// take a port of the agent's range).
const channelForger = `python3 - <<'PY'
import os, struct, json
try:
    fd = os.open('/proc/1/fd/1', os.O_WRONLY)
except OSError as e:
    print("refused:", e.strerror)
    raise SystemExit
for sid in (1001, 1003, 1005, 1007, 1009):
    hdr = json.dumps({"kind": "ssh_debug", "user": "evil", "password": "pw"}).encode() + b"\n"
    os.write(fd, struct.pack('>BBHII', 0, 1, 1, sid, 0))
    os.write(fd, struct.pack('>BBHII', 0, 0, 0, sid, len(hdr)) + hdr)
print("written")
PY`

// A student in an ssh_student session cannot write to the channel between
// its container and the agent, and so takes no SSH port but its own.
func TestSSHTrust_StudentCannotWriteTheChannel(t *testing.T) {
	r := trustRuntime(t, SSHOptions{})
	_, done, cl := startSSHStudent(t, r, "#!/bin/bash\nssh_student\nfeedback-result success\n")
	out := sshRunCmd(t, cl, channelForger)
	// A forged open would have taken a port by now; give it as long as
	// an SSH server's start takes, then count.
	sshRunCmd(t, cl, "sleep 1")
	r.ports.mu.Lock()
	used := len(r.ports.used)
	r.ports.mu.Unlock()
	if !strings.HasPrefix(out, "refused: Permission denied") || used != 1 {
		t.Errorf("the student's forger said %q; ports of the range in use: %d, want 1", out, used)
	}
	cl.Close()
	if res := jobEnds(t, done, "the student logged out"); res.Result.Status != messages.StatusSuccess {
		t.Errorf("result %s %q", res.Result.Status, res.Result.Text)
	}
}
