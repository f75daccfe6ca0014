package sshserver

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// exitOfErr is what the client learnt of the end of the remote process.
func exitOfErr(t *testing.T, err error) (status int, signal string) {
	t.Helper()
	if err == nil {
		return 0, ""
	}
	var ee *ssh.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("not an exit: %v", err)
	}
	return ee.ExitStatus(), ee.Signal()
}

func TestExec(t *testing.T) {
	tests := []struct {
		name, cmd, stdin       string
		stdout, stderr, signal string
		status                 int
	}{
		{name: "output and status", cmd: "echo hello; echo err >&2; exit 3", stdout: "hello\n", stderr: "err\n", status: 3},
		{name: "success", cmd: "true"},
		{name: "stdin", cmd: "cat; echo end", stdin: "abc\n", stdout: "abc\nend\n"},
		{name: "signal", cmd: "kill -KILL $$", signal: "KILL", status: 128 + 9},
		{name: "dir and env", cmd: `[ "$PWD" = "$HOME" ] && echo same; echo "[$INGO_TEST]"`, stdout: "same\n[yes]\n"},
		{name: "background keeps output open", cmd: "sleep 30 & echo started", stdout: "started\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, Options{})
			c := mustDial(t, s)
			sess, err := c.client.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			sess.Stdout, sess.Stderr = &stdout, &stderr
			sess.Stdin = strings.NewReader(tt.stdin)
			start := time.Now()
			status, sig := exitOfErr(t, sess.Run(tt.cmd))
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			if stdout.String() != tt.stdout || stderr.String() != tt.stderr {
				t.Errorf("stdout %q stderr %q, want %q %q", stdout.String(), stderr.String(), tt.stdout, tt.stderr)
			}
			if status != tt.status || sig != tt.signal {
				t.Errorf("status %d signal %q, want %d %q", status, sig, tt.status, tt.signal)
			}
		})
	}
}

func needPTY(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	f.Close()
}

func TestPTY(t *testing.T) {
	needPTY(t)
	tests := []struct {
		name       string
		cols, rows int
		shell      bool
		cmd        string // stdin for a shell
		want       []string
		status     int
	}{
		{name: "shell", cols: 80, rows: 24, shell: true, cmd: "echo $TERM; tty; exit 5\n", want: []string{"xterm", "/dev/pts/"}, status: 5},
		{name: "size", cols: 100, rows: 30, cmd: "stty size", want: []string{"30 100"}},
		{name: "background keeps terminal open", cols: 80, rows: 24, cmd: "sleep 30 & echo started", want: []string{"started"}},
		// Out of reach of the group kill: only closing the master ends the copy.
		{name: "another session on the terminal", cols: 80, rows: 24, cmd: "setsid sleep 5 & echo started", want: []string{"started"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, Options{})
			c := mustDial(t, s)
			sess, err := c.client.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			if err := sess.RequestPty("xterm", tt.rows, tt.cols, ssh.TerminalModes{}); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			sess.Stdout = &out
			start := time.Now()
			if tt.shell {
				sess.Stdin = strings.NewReader(tt.cmd)
				err = sess.Shell()
				if err == nil {
					err = sess.Wait()
				}
			} else {
				err = sess.Run(tt.cmd)
			}
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("took %v", d)
			}
			status, sig := exitOfErr(t, err)
			if status != tt.status || sig != "" {
				t.Errorf("status %d signal %q, want %d; output %q", status, sig, tt.status, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output %q lacks %q", out.String(), w)
				}
			}
		})
	}
}

func TestWindowChange(t *testing.T) {
	needPTY(t)
	s := newServer(t, Options{})
	c := mustDial(t, s)
	sess, err := c.client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm", 24, 80, nil); err != nil {
		t.Fatal(err)
	}
	if err := sess.WindowChange(40, 120); err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("stty size")
	if err != nil || !strings.Contains(string(out), "40 120") {
		t.Errorf("output %q, %v", out, err)
	}
}

func TestSignal(t *testing.T) {
	s := newServer(t, Options{})
	c := mustDial(t, s)
	sess, err := c.client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("sleep 30"); err != nil {
		t.Fatal(err)
	}
	if err := sess.Signal(ssh.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err := <-done:
		if _, sig := exitOfErr(t, err); sig != "TERM" {
			t.Errorf("signal %q, want TERM (%v)", sig, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sleep still running")
	}
}

func TestRecording(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	s := newServer(t, Options{Record: dir})
	c := mustDial(t, s)
	for _, cmd := range []string{"echo hello; echo err >&2; exit 2", "printf 'no newline'"} {
		sess, err := c.client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		sess.Run(cmd)
	}
	for i, want := range []struct {
		command, body string
		code          int
	}{
		{"echo hello; echo err >&2; exit 2", "hello\nerr\n", 2},
		{"printf 'no newline'", "no newline\n", 0},
	} {
		name := filepath.Join(dir, "session-"+strconv.Itoa(i+1)+".log")
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(data), "\n")
		if len(lines) < 3 {
			t.Fatalf("%s: %q", name, data)
		}
		head, foot := lines[0], lines[len(lines)-2]
		body := strings.Join(lines[1:len(lines)-2], "")
		n := strconv.Itoa(i + 1)
		if !strings.HasPrefix(head, "# ssh session "+n+" started ") || !strings.HasSuffix(head, "; command: "+want.command+"\n") {
			t.Errorf("header %q", head)
		}
		// stdout and stderr are two pipes: their order is not kept.
		if sortLines(body) != sortLines(want.body) {
			t.Errorf("body %q, want %q", body, want.body)
		}
		if !strings.HasPrefix(foot, "# ssh session "+n+" ended ") || !strings.HasSuffix(foot, ", exit "+strconv.Itoa(want.code)+"\n") {
			t.Errorf("footer %q", foot)
		}
		if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("mode %v %v", fi.Mode(), err)
		}
	}
}

func TestRecordLimit(t *testing.T) {
	dir := t.TempDir()
	s := newServer(t, Options{Record: dir, RecordLimit: 100})
	c := mustDial(t, s)
	for range 2 {
		sess, err := c.client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		sess.Stdout = &out
		if err := sess.Run("seq 1 20000"); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(out.String(), "\n20000\n") {
			t.Errorf("the client did not get all the output: %d bytes", out.Len())
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "session-1.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 200 || strings.Count(string(data), stoppedMarker) != 1 || !strings.HasSuffix(string(data), "\n"+stoppedMarker) {
		t.Errorf("%d bytes: %q", len(data), data)
	}
	data, err = os.ReadFile(filepath.Join(dir, "session-2.log"))
	if err != nil || len(data) != 0 {
		t.Errorf("second transcript: %q %v", data, err)
	}
}

func sortLines(s string) string {
	lines := strings.SplitAfter(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "")
}

func TestBadRequests(t *testing.T) {
	s := newServer(t, Options{})
	c := mustDial(t, s)
	ch, reqs, err := c.client.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	go ssh.DiscardRequests(reqs)
	defer ch.Close()
	for _, r := range []struct {
		typ     string
		payload []byte
	}{
		{"pty-req", []byte{0, 0, 0, 9, 'x'}},
		{"window-change", []byte{1, 2}},
		{"exec", []byte{0xff, 0xff, 0xff, 0xff}},
		{"signal", ssh.Marshal(struct{ S string }{"NOPE"})},
		{"env", ssh.Marshal(struct{ K, V string }{"LD_PRELOAD", "/x.so"})},
		{"subsystem", ssh.Marshal(struct{ S string }{"sftp"})},
		{"x11-req", nil},
		{"", nil},
	} {
		ok, err := ch.SendRequest(r.typ, true, r.payload)
		if ok || err != nil {
			t.Errorf("%q: %v %v", r.typ, ok, err)
		}
	}
	// The connection is still fine.
	sess, err := c.client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := sess.Output("echo ok"); err != nil || string(out) != "ok\n" {
		t.Errorf("output %q, %v", out, err)
	}
}

// TestRecordFile: with RecordFile every session is appended to one file
// (ssh_student's /task/student/.ssh_logs, as INGInious leaves it), never
// through a link put in its place.
func TestRecordFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, ".ssh_logs")
	s := newServer(t, Options{RecordFile: file})
	c := mustDial(t, s)
	for _, cmd := range []string{"echo first", "echo second"} {
		sess, err := c.client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.Run(cmd); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	got := string(data)
	if strings.Count(got, "# ssh session ") != 4 || !strings.Contains(got, "first\n") || !strings.Contains(got, "second\n") ||
		strings.Index(got, "first") > strings.Index(got, "second") {
		t.Errorf("transcript:\n%s", got)
	}

	// A link in the file's place is not written through.
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, file); err != nil {
		t.Fatal(err)
	}
	sess, err := c.client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Run("echo third"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(secret); string(b) != "keep\n" {
		t.Errorf("the transcript was written through a link: %q", b)
	}
}

// TestRecordFileNotAPipe: a pipe in the transcript's place (the user's
// folder) is not written to, and the session runs all the same.
func TestRecordFileNotAPipe(t *testing.T) {
	file := filepath.Join(t.TempDir(), ".ssh_logs")
	if err := syscall.Mkfifo(file, 0o644); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, Options{RecordFile: file})
	c := mustDial(t, s)
	sess, err := c.client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("echo ran")
	if err != nil || string(out) != "ran\n" {
		t.Fatalf("session with a pipe as transcript: %q, %v", out, err)
	}
}

// Options.Start starts each command: the command runs only when the Start
// given calls its start, and not when it refuses (the helper raises its
// own oom_score_adj there, which the command inherits from its first
// instruction).
func TestStartOption(t *testing.T) {
	var starts atomic.Int32
	var refuse atomic.Bool
	s := newServer(t, Options{Start: func(start func() error) error {
		starts.Add(1)
		if refuse.Load() {
			return errors.New("refused by Start")
		}
		return start()
	}})
	c := mustDial(t, s)
	for _, r := range []bool{false, true} {
		refuse.Store(r)
		sess, err := c.client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		out, err := sess.Output("echo ok")
		if ran := err == nil && string(out) == "ok\n"; ran == r {
			t.Errorf("Start refusing %v: output %q, %v", r, out, err)
		}
	}
	if n := starts.Load(); n != 2 {
		t.Errorf("Start called %d times for 2 commands", n)
	}
}
