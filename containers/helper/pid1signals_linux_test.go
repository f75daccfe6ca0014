package helper

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ingo-grader/ingo/containers/channel"
)

// pid1Signals are the signals a process may send to its container's PID 1
// that Go's runtime dies of when nobody asked for them: the kernel
// delivers to a PID 1 only the signals it handles, and Go handles every
// one, then exits 2 (with a goroutine dump on stderr) for these.
// By number: dash's kill knows no SIGSTKFLT.
var pid1Signals = []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGILL, syscall.SIGTRAP,
	syscall.SIGABRT, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGSEGV, syscall.SIGSYS, syscall.SIGSTKFLT}

// asPID1 runs the helper with args as PID 1 of a new PID namespace, as in
// a container; it needs root and unshare(1).
func asPID1(t *testing.T, c *container, args ...string) *exec.Cmd {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and unshare(1)")
	}
	cmd := exec.Command(unshare, append([]string{"--pid", "--fork", helperBin}, args...)...)
	cmd.Env = c.env()
	return cmd
}

// TestPID1SurvivesSignalsOfItsProcesses: the grader (or a student's
// program it runs in the grading container) cannot end the helper with a
// signal, which made the job a crash "stopped without a result" whatever
// the feedback said; nor can a student's program end its student
// container's helper, which in an ssh_student session left the hidden
// scripts folder lost and the teardown script not run.
func TestPID1SurvivesSignalsOfItsProcesses(t *testing.T) {
	for _, s := range pid1Signals {
		sig := strconv.Itoa(int(s))
		t.Run("run/signal-"+sig, func(t *testing.T) {
			t.Parallel()
			c := newContainer(t, job(nil, 1<<20))
			c.task("run", "#!/bin/bash\nfeedback-result failed\nfeedback-msg -m 'wrong answer'\nkill -"+sig+" 1\nsleep 0.2\nfeedback-msg -a -m ', graded'\n", 0o755)
			if out, err := asPID1(t, c, "run").CombinedOutput(); err != nil {
				t.Fatalf("the helper as PID 1: %v: %.2000s", err, out)
			}
			if r := readResult(t, c); r.Result != "failed" || r.Text != "wrong answer, graded" {
				t.Errorf("got %q %q, want the grader's feedback", r.Result, r.Text)
			}
		})
		if s == syscall.SIGHUP || s == syscall.SIGQUIT {
			continue // the student helper passes them on to its command (forwarded)
		}
		t.Run("student/signal-"+sig, func(t *testing.T) {
			t.Parallel()
			c := newContainer(t, job(nil, 1<<20))
			spec, _ := json.Marshal(channel.StudentSpec{Argv: []string{"sh", "-c", "kill -" + sig + " 1; sleep 0.2; echo alive"}})
			cmd := asPID1(t, c, "student", string(spec))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil || strings.TrimSpace(stdout.String()) != "alive" {
				t.Errorf("student helper as PID 1: %v, stdout %q, stderr %.2000s", err, stdout.String(), stderr.String())
			}
		})
	}
}
