package docker

import (
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// ioUringProbe prints whether io_uring_setup (425 on every architecture
// since Linux 5.1) is allowed.
const ioUringProbe = `import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(425, 1, ctypes.create_string_buffer(120))
print("allowed" if fd >= 0 else os.strerror(ctypes.get_errno()), end="")`

// TestRun_IOUringRefused: a grader and a student program cannot use
// io_uring, whatever the daemon's release. Docker 20.10's own profile (the
// one before Docker 25) let them: a review's run file opened an io_uring
// instance on this machine's daemon.
func TestRun_IOUringRefused(t *testing.T) {
	t.Parallel()
	run := "#!/bin/bash\ncat > /tmp/probe.py <<'EOF'\n" + ioUringProbe + "\nEOF\n" +
		"grader=$(python3 /tmp/probe.py)\n" +
		"student=$(run_student python3 -c \"$(cat /tmp/probe.py)\")\n" +
		"feedback-result success\nfeedback-msg -m \"grader: $grader, student: $student\"\n"
	b := task(t, map[string]string{"run": run})
	runModes(t, func(r *Runtime) *containers.Job { return newJob(r, b, nil) }, func(t *testing.T, res messages.JobResult) {
		if res.Result.Status != messages.StatusSuccess || strings.Contains(res.Result.Text, "allowed") ||
			!strings.Contains(res.Result.Text, "student: ") || strings.Count(res.Result.Text, "Operation not permitted") != 2 {
			t.Errorf("result = %+v, want io_uring refused to the grader and the student", res.Result)
		}
	})
}
