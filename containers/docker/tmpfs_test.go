package docker

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// TestRun_DiskBoundsTheWholeTask: many small files cannot go past the disk
// limit in total (the /task tmpfs), nor /tmp past its share; the job still
// ends with its result.
func TestRun_DiskBoundsTheWholeTask(t *testing.T) {
	t.Parallel()
	run := `#!/bin/bash
n=0; failed=0
for i in $(seq 1 40); do
	if head -c 1000000 /dev/zero > f$i 2>/dev/null; then n=$((n+1)); else failed=1; break; fi
done
t=0
for i in $(seq 1 400); do
	if head -c 1000000 /dev/zero > /tmp/f$i 2>/dev/null; then t=$((t+1)); else break; fi
done
feedback-result success
feedback-msg -m "$n $failed $t"
`
	b := task(t, map[string]string{"run": run})
	runModes(t, func(r *Runtime) *containers.Job {
		job := newJob(r, b, nil)
		job.Limits.Disk = 16
		return job
	}, func(t *testing.T, res messages.JobResult) {
		f := strings.Fields(res.Result.Text)
		if res.Result.Status != messages.StatusSuccess || len(f) != 3 {
			t.Fatalf("result = %+v, want success with counts", res.Result)
		}
		n, _ := strconv.Atoi(f[0])
		tmp, _ := strconv.Atoi(f[2])
		if n >= 17 || n < 10 || f[1] != "1" {
			t.Errorf("%d files of 1 MB written in /task (a write failed: %s), want the 16 MiB bound to stop them", n, f[1])
		}
		if tmp > 17 || tmp == 0 {
			t.Errorf("%d files of 1 MB written in /tmp, want its 16 MiB bound to stop them", tmp)
		}
	})
}

// TestRun_ReadOnlyRootfs: the run file writes only to /task, /tmp, /archive
// (and /.ingo through the commands); the rest of the file system is
// read-only.
func TestRun_ReadOnlyRootfs(t *testing.T) {
	t.Parallel()
	run := `#!/bin/bash
out=""
for p in /evil /etc/evil /usr/evil /usr/local/bin/evil /var/tmp/evil /home/evil /root/evil /task/ok /tmp/ok /archive/ok /task/student/ok; do
	if (echo x > $p) 2>/dev/null; then out="$out w:$p"; else out="$out r:$p"; fi
done
mkdir /newdir 2>/dev/null && out="$out w:/newdir"
feedback-result success
feedback-msg -m "${out# }"
`
	b := task(t, map[string]string{"run": run})
	want := "r:/evil r:/etc/evil r:/usr/evil r:/usr/local/bin/evil r:/var/tmp/evil r:/home/evil r:/root/evil w:/task/ok w:/tmp/ok w:/archive/ok w:/task/student/ok"
	runModes(t, func(r *Runtime) *containers.Job { return newJob(r, b, nil) }, func(t *testing.T, res messages.JobResult) {
		if res.Result.Status != messages.StatusSuccess || res.Result.Text != want {
			t.Errorf("result = %+v\nwant text %q", res.Result, want)
		}
	})
}

// TestRun_NoResultIsCrash: the result comes only over the channel. A
// container that gives none there ends as a crash, whatever it leaves
// elsewhere: a result framed on stdout, before the channel's marker or
// in place of the session after it (the transports of an older helper),
// or result.json (which the runtime never copies out).
func TestRun_NoResultIsCrash(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	const success = `{"result":"success","text":"elsewhere","grade":100}`
	frame := fmt.Sprintf(`printf '\nINGO-RESULT %d\n%s'`, len(success), success)
	tests := []struct {
		name       string
		entrypoint []string
	}{
		{"nothing", []string{"/usr/local/bin/ingo-helper", "feedback-result", "success"}},
		{"framed on stdout", []string{"/bin/sh", "-c", frame + "; sleep 1"}},
		{"framed after the marker", []string{"/bin/sh", "-c", `printf '\nINGO-MUX 1\n'; ` + frame + "; sleep 1"}},
		{"result.json", []string{"/bin/sh", "-c", `printf '%s' '` + success + `' > /.ingo/result.json; sleep 1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name := "ingo-test-noresult-" + strings.ToLower(rand.Text()[:6])
			tag := "ingo/test-" + name
			build := exec.CommandContext(t.Context(), "docker", "build", "-q", "-t", tag, "-")
			entrypoint, _ := json.Marshal(tt.entrypoint)
			build.Stdin = strings.NewReader("FROM ingo/env-minimal\nENTRYPOINT " + string(entrypoint) + "\nLABEL org.inginious.grading.name=" + name + " org.inginious.grading.advertise=false\n")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("docker build: %v\n%s", err, out)
			}
			t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
			r := newTestRuntime(t, Options{})
			job := newJob(r, task(t, map[string]string{"run": "#!/bin/sh\nfeedback-result success\n"}), nil)
			job.Desc.Environment = name
			res, _ := runJob(t, r, job)
			if res.Result.Status != messages.StatusCrash || res.Result.Text != textNoResult {
				t.Errorf("result = %+v, want crash %q", res.Result, textNoResult)
			}
		})
	}
}

// The result travels over the channel, on the helper's stdout. A grader
// running as the same uid must not be able to write there (through
// /proc/1/fd/1) and garble the session.
func TestRun_GraderCannotWriteTheResultStream(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	run := `#!/bin/sh
if printf '\nINGO-RESULT 999999\n' > /proc/1/fd/1 2>/dev/null; then
  feedback-result failed; feedback-msg -m "wrote into the result stream"
else
  feedback-result success; feedback-msg -m "refused"
fi
`
	res, _ := runJob(t, r, newJob(r, task(t, map[string]string{"run": run}), nil))
	if res.Result.Status != messages.StatusSuccess || res.Result.Text != "refused" {
		t.Errorf("result = %+v: the grader reached the helper's stdout", res.Result)
	}
}
