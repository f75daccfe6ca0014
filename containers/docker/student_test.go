package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// studentRun is a run file that reports through feedback-msg what its
// run_student calls did; the tests compare that text.
func studentRun(body string) string {
	return "#!/bin/bash\nset -u\nout() { feedback-msg -a -m \"$*\"$'\\n'; }\n" + body + "\nfeedback-result success\n"
}

func TestRunStudent(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	// The memory cgroup of a student container holds its limit, its
	// tmpfs mounts included.
	cappedMemory := 128 << 20
	tests := []struct {
		name string
		body string
		want []string // lines of the feedback text, in order
	}{
		{"stdin-stdout-stderr", `
printf 'line1\nline2\n' | run_student python3 -c 'import sys; d=sys.stdin.read(); sys.stdout.write(d.upper()); sys.stderr.write("err:%d" % len(d)); sys.exit(3)' >/tmp/o 2>/tmp/e
out "code=$? out=$(tr '\n' '|' </tmp/o) err=$(cat /tmp/e)"`,
			[]string{"code=3 out=LINE1|LINE2| err=err:12"}},
		{"one-string-command-and-codes", `
run_student "sh -c 'exit 42'"; out "exit=$?"
run_student no-such-command 2>/tmp/e; out "missing=$? $(cat /tmp/e)"
run_student sh -c 'kill -9 $$'; out "killed=$?"
run_student sh -c 'kill -SEGV $$'; out "segv=$?"`,
			// 256-N for signal N, as INGInious' (courses test 256-11).
			[]string{"exit=42", "missing=127 run_student: no-such-command: command not found", "killed=247", "segv=245"}},
		{"large-stream", `
head -c 30000000 /dev/urandom >/tmp/big
a=$(sha256sum </tmp/big | cut -c1-64)
b=$(run_student cat </tmp/big | sha256sum | cut -c1-64)
c=$(run_student sh -c 'cat >&2' </tmp/big 2>&1 >/dev/null | sha256sum | cut -c1-64)
[ "$a" = "$b" ] && [ "$a" = "$c" ] && out "same" || out "differ $a $b $c"`,
			[]string{"same"}},
		{"interactive", `
coproc S { run_student python3 -u -c '
import sys
for line in sys.stdin:
    print("echo:" + line.strip(), flush=True)
    if line.strip() == "bye":
        break
'; }
echo hello >&"${S[1]}"; read -r a <&"${S[0]}"
echo bye >&"${S[1]}"; read -r b <&"${S[0]}"
wait "$S_PID"; out "$a $b code=$?"`,
			[]string{"echo:hello echo:bye code=0"}},
		// A caller's stdin that never ends, to a student that reads none
		// of it: the relay blocks on the student's pipe, and is cut when
		// the student stops.
		{"endless-stdin-unread", `
yes | run_student sleep 0.3; out "code=$?"`,
			[]string{"code=0"}},
		{"memory-hog", `
run_student --memory 32 python3 -c 'a = [b"x" * (10 << 20) for _ in range(200)]'; out "code=$?"`,
			[]string{"code=252"}},
		{"busy-loop-then-feedback", `
run_student --time 1 python3 -c 'while True: pass'; out "code=$?"
out "grader goes on"`,
			[]string{"code=253", "grader goes on"}},
		{"hard-time", `
run_student --hard-time 1 sleep 20; out "code=$?"`,
			[]string{"code=253"}},
		{"limits-capped-to-the-parent", `
run_student --memory 100000 sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max' >/tmp/m
out "memory=$(cat /tmp/m)"`,
			[]string{fmt.Sprintf("memory=%d", cappedMemory)}},
		// An empty /task/student stays the worker's when a student
		// container mounts it (Docker's copy of the image's folder into an
		// empty volume would make it root's).
		{"empty-student-dir-writable", `
run_student sh -c 'mkdir /task/student/x && stat -c %U:%a /task/student' >/tmp/w 2>&1
out "$(cat /tmp/w) $(stat -c %U /task/student)"`,
			[]string{"worker:755 worker"}},
		{"isolation", `
echo secret >/task/secret.txt
echo shared >/task/student/shared.txt
run_student sh -c 'cat /task/secret.txt /.ingo/input.json /.ingo/feedback.json /archive 2>/dev/null; cat /task/student/shared.txt; echo mine >/task/student/mine.txt; id -u' >/tmp/i
out "$(cat /tmp/i)"
out "back=$(cat /task/student/mine.txt)"`,
			[]string{"shared\n4242", "back=mine"}},
		{"network-namespace", `
mine=$(readlink /proc/self/ns/net)
own=$(run_student readlink /proc/self/ns/net)
shared=$(run_student --share-network readlink /proc/self/ns/net)
[ "$own" != "$mine" ] && out "own differs"
[ "$shared" = "$mine" ] && out "shared same"
run_student cat /sys/class/net/*/operstate 2>/dev/null | grep -c up | xargs -I{} sh -c 'echo "$0"' "interfaces up: {}" >/tmp/n; out "$(cat /tmp/n)"`,
			[]string{"own differs", "shared same", "interfaces up: 0"}},
		{"signals", `
run_student python3 -u -c '
import signal, sys, time
def h(*a):
    print("got TERM", flush=True)
    sys.exit(7)
signal.signal(signal.SIGTERM, h)
print("ready", flush=True)
time.sleep(30)
' >/tmp/s &
pid=$!
for i in $(seq 100); do grep -q ready /tmp/s && break; sleep 0.1; done
kill -TERM $pid; wait $pid; out "code=$? $(tr '\n' ' ' </tmp/s)"`,
			[]string{"code=7 ready got TERM "}},
		// Files cost the kernel memory no size counts, and what ended
		// student containers left in /task/student is charged to nobody:
		// the folder holds a bounded number of them (its root is one).
		// Before, each call could leave its memory limit's worth of empty
		// files (about 100,000 here) for the rest of the job.
		{"student-dir-files-bounded", `
run_student python3 -c '
import errno
n = 0
try:
    while True:
        open("/task/student/f%d" % n, "w").close()
        n += 1
except OSError as e:
    print(n, errno.errorcode[e.errno])
' >/tmp/f; c=$?; out "$(cat /tmp/f) code=$c"`,
			[]string{fmt.Sprintf("%d ENOSPC code=0", studentDirInodes(messages.Limits{Memory: 128, Disk: 64})-1)}},
		// More calls at once than a job's student slots (8): the others
		// wait their turn. 8 x 16 MiB fit in the job's 128 MiB.
		{"concurrent-calls", `
for i in $(seq 12); do (run_student --memory 16 sh -c "sleep 0.3; echo call$i" >/tmp/c$i) & done
wait; out "$(for i in $(seq 12); do cat /tmp/c$i; done | tr '\n' ' ')"`,
			[]string{"call1 call2 call3 call4 call5 call6 call7 call8 call9 call10 call11 call12 "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := newJob(r, task(t, map[string]string{"run": studentRun(tt.body)}), nil)
			res, _ := runJob(t, r, job)
			want := strings.Join(tt.want, "\n") + "\n"
			if res.Result.Status != messages.StatusSuccess || res.Result.Text != want {
				t.Errorf("got %s %q\nwant success %q", res.Result.Status, res.Result.Text, want)
			}
			assertJobGone(t, job)
		})
	}
}

// assertJobGone checks that a finished job left no container and no
// volume behind (student containers die with their job), once the
// runtime removed them (right after Run returned its result).
func assertJobGone(t *testing.T, job *containers.Job) {
	t.Helper()
	cli := rawClient(t)
	f := filters.NewArgs(filters.Arg("label", LabelJob+"="+job.ID()))
	var nc, nv int
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		cs, err := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		vs, err := cli.VolumeList(context.Background(), volume.ListOptions{Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		nc, nv = len(cs), len(vs.Volumes)
		if nc+nv == 0 || time.Now().After(deadline) {
			break
		}
	}
	if nc > 0 || nv > 0 {
		t.Errorf("job %s left %d containers and %d volumes", job.ID(), nc, nv)
	}
}

func TestRunStudent_DiesWithItsJob(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	cases := []struct {
		name string
		run  string
		kill bool
	}{
		// The run file ends while a student command still runs.
		{"run-file-ends", "#!/bin/bash\nrun_student sleep 600 &\nsleep 2\nfeedback-result success\n", false},
		// The job is killed while a student command runs.
		{"job-killed", "#!/bin/bash\nrun_student sleep 600\n", true},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := newJob(r, task(t, map[string]string{"run": tt.run}), nil)
			ctx, cancel := context.WithCancelCause(t.Context())
			defer cancel(nil)
			if tt.kill {
				go func() {
					// Kill once the student container exists.
					for ctx.Err() == nil {
						if studentContainers(t, job) > 0 {
							cancel(containers.ErrKilled)
							return
						}
						time.Sleep(100 * time.Millisecond)
					}
				}()
			}
			res, err := r.Run(ctx, job, nil)
			t.Logf("result %s %q err %v", res.Result.Status, res.Result.Text, err)
			if tt.kill != (err != nil) {
				t.Errorf("err = %v", err)
			}
			assertJobGone(t, job)
		})
	}
}

func studentContainers(t *testing.T, job *containers.Job) int {
	f := filters.NewArgs(filters.Arg("label", LabelJob+"="+job.ID()), filters.Arg("label", LabelRole+"=student"))
	cs, err := rawClient(t).ContainerList(context.Background(), container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Error(err)
		return 0
	}
	return len(cs)
}

func TestCapLimit(t *testing.T) {
	tests := []struct{ v, parent, want float64 }{
		{0, 10, 10}, {-1, 10, 10}, {5, 10, 5}, {50, 10, 10}, {5, 0, 5},
	}
	for _, tt := range tests {
		if got := capLimit(tt.v, tt.parent); got != tt.want {
			t.Errorf("capLimit(%v, %v) = %v, want %v", tt.v, tt.parent, got, tt.want)
		}
	}
}

// TestChannelFlood: a run file (or the student code it runs) that floods
// the channel with streams gets them refused, then loses its channel; the
// agent stays well and the next job is graded.
func TestChannelFlood(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	flood := `#!/usr/bin/python3
import json, socket, subprocess, time
socks = []
for i in range(400):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect("/.ingo/channel.sock")
        s.sendall((json.dumps({"kind": "stdin", "id": "flood%d" % i}) + "\n").encode() + b"x" * 65536)
        socks.append(s)
    except OSError:
        break
time.sleep(1)
subprocess.run(["feedback-result", "success"])
`
	res, d := runJob(t, r, newJob(r, task(t, map[string]string{"run": flood}), nil))
	t.Logf("flooding job: %s %q after %v", res.Result.Status, res.Result.Text, d)
	// Its calls fail fast once the channel is gone: the job ends by itself,
	// not at its wall-time limit.
	if res.Result.Status == messages.StatusTimeout {
		t.Errorf("the flooding job hung until its time limit")
	}
	res, _ = runJob(t, r, newJob(r, task(t, map[string]string{"run": studentRun(`out "$(echo ok | run_student cat)"`)}), nil))
	if res.Result.Status != messages.StatusSuccess || res.Result.Text != "ok\n" {
		t.Errorf("next job: %s %q", res.Result.Status, res.Result.Text)
	}
}

// TestStudentDirVolume: the create of the grading container makes its
// /task/student volume, as a volume of its own: the local driver's tmpfs
// (sized as /task, at most Limits.Memory, the worker's), labelled as the
// job's resources with the role student-dir (Cleanup finds leftovers so),
// and removed after the job.
func TestStudentDirVolume(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	job := newJob(r, task(t, map[string]string{"run": studentRun(`
out "$(stat -f -c %T /task/student) $(stat -c %U:%a /task/student) $(df -k /task/student | awk 'NR == 2 {print $2}')"
sleep 1`)}), nil)
	job.Limits.Memory, job.Limits.Disk = 48, 64
	type outcome struct {
		res messages.JobResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := r.Run(t.Context(), job, nil)
		done <- outcome{res, err}
	}()
	cli := rawClient(t)
	f := filters.NewArgs(filters.Arg("label", LabelJob+"="+job.ID()), filters.Arg("label", LabelRole+"=student-dir"))
	var vs []*volume.Volume
	for deadline := time.Now().Add(20 * time.Second); len(vs) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		list, err := cli.VolumeList(context.Background(), volume.ListOptions{Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		vs = list.Volumes
	}
	if len(vs) != 1 {
		t.Fatalf("%d student-dir volumes of the job while it runs, want 1", len(vs))
	}
	v := vs[0]
	if v.Driver != "local" || v.Options["type"] != "tmpfs" || !strings.Contains(v.Options["o"], "size=49152k,nr_inodes=4096,uid=4242,gid=4242") ||
		v.Labels[LabelAgent] != r.opts.AgentID || v.Labels[LabelAttempt] != "1" {
		t.Errorf("volume %s: driver %s, options %v, labels %v", v.Name, v.Driver, v.Options, v.Labels)
	}
	o := <-done
	if o.err != nil || o.res.Result.Status != messages.StatusSuccess || o.res.Result.Text != "tmpfs worker:755 49152\n" {
		t.Errorf("Run = %+v, %v; want success %q", o.res.Result, o.err, "tmpfs worker:755 49152\n")
	}
	assertJobGone(t, job)
}

// Student containers running at once share the job's CPUs equally, and
// its processes as they were when each started: each run_student's
// cgroup, as its own code reads it (cgroup v1 or v2), allows an n-th of
// the CPUs while n run, and an n-th of the processes if n ran when it was
// created. Before, each had the whole, and eight calls took nine times
// the job's CPUs and processes. A call alone has them whole, whatever
// memory it asked for (a share by memory, tried first, slowed a lone call
// of little memory into its wall time), and has the CPUs back when the
// others end.
func TestStudentsShareTheJobsCPUsAndProcesses(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{CPUs: 1})
	limits := `p=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)
if [ -r /sys/fs/cgroup/cpu.max ]; then c=$(cat /sys/fs/cgroup/cpu.max); else c="$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"; fi
echo "$p $c"`
	// Each of the four waits until all four run, reads its limits, and
	// waits until all four have read.
	together := `touch /task/student/started-$1
while [ $(ls /task/student | grep -c started-) -lt 4 ]; do sleep 0.05; done
sh /task/student/limits.sh
touch /task/student/read-$1
while [ $(ls /task/student | grep -c read-) -lt 4 ]; do sleep 0.05; done`
	// The first runs alone, then beside another that ends: it waits for
	// its whole CPU back (at most 10 s), and says what it has.
	growsBack := `touch /task/student/a-started
while [ ! -e /task/student/b-done ]; do sleep 0.05; done
for i in $(seq 200); do l=$(sh /task/student/limits.sh); case "$l" in *" 100000 100000") break;; esac; sleep 0.05; done
echo "$l"`
	job := newJob(r, task(t, map[string]string{"limits.sh": limits, "together.sh": together, "grows.sh": growsBack, "run": studentRun(`
cp limits.sh together.sh grows.sh /task/student/
out "whole $(run_student sh /task/student/limits.sh)"
out "alone, of little memory $(run_student --memory 8 sh /task/student/limits.sh)"
for i in 1 2 3 4; do run_student --memory 32 sh /task/student/together.sh $i >/tmp/four-$i & done
wait
out "four at once $(cat /tmp/four-* | sort | tr '\n' ,)"
run_student --memory 64 sh /task/student/grows.sh >/tmp/a &
while [ ! -e /task/student/a-started ]; do sleep 0.05; done
run_student --memory 64 sh -c 'sh /task/student/limits.sh >/task/student/b; touch /task/student/b-done'
wait
out "beside the first $(cat /task/student/b), the first after $(cat /tmp/a)"`)}), nil)
	job.Limits.Memory, job.Limits.Processes = 128, 128
	res, _ := runJob(t, r, job)
	want := "whole 128 100000 100000\nalone, of little memory 128 100000 100000\n" +
		"four at once 128 25000 100000,32 25000 100000,43 25000 100000,64 25000 100000,\n" +
		"beside the first 64 50000 100000, the first after 128 100000 100000\n"
	if res.Result.Status != messages.StatusSuccess || res.Result.Text != want {
		t.Errorf("result %s %q, want %q", res.Result.Status, res.Result.Text, want)
	}
}

func TestSetShare(t *testing.T) {
	for _, tc := range []struct {
		cpus               float64
		processes          int64
		n                  int
		wantCPUs, wantPids int64
	}{
		{2, 4096, 1, 2e9, 4096},    // alone: the whole job
		{2, 4096, 4, 5e8, 1024},    // a quarter
		{1, 4096, 8, 125e6, 512},   // an eighth
		{0.5, 64, 8, 1e8, 32},      // the floors
		{0.05, 16, 8, 5e7, 16},     // floors above the job's own: the job's
		{1, 0, 3, 333333333, -1},   // no process limit: none
		{1, 100, 3, 333333333, 34}, // rounded up
	} {
		hc := &container.HostConfig{}
		setShare(hc, messages.Limits{Processes: tc.processes}, tc.cpus, tc.n)
		pids := int64(-1)
		if hc.PidsLimit != nil {
			pids = *hc.PidsLimit
		}
		if hc.NanoCPUs != tc.wantCPUs || pids != tc.wantPids {
			t.Errorf("%v CPUs, %d processes, %d at once: got %d, %d; want %d, %d",
				tc.cpus, tc.processes, tc.n, hc.NanoCPUs, pids, tc.wantCPUs, tc.wantPids)
		}
	}
}

// TestRunStudent_JobWithoutATask: a job without a task (a run_cmd that
// calls run_student, as the bridge and NATS frontends may send) gets its
// student containers. Its course has no common student files, so on
// cgroup v1 the student's helper waits for the folder alone; writing it
// read the job's nil bundle and the agent process died on a nil pointer,
// with every job it ran.
func TestRunStudent_JobWithoutATask(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	job := newJob(r, nil, nil)
	job.Desc.EnvironmentParameters.RunCmd = "run_student true" // run_cmd is split into words, with no shell
	res, _ := runJob(t, r, job)
	// The command gave no feedback: the job is an error saying so, once
	// its student container ran.
	if res.Result.Status != messages.StatusError || res.Usage == nil || res.Usage.Students == nil || res.Usage.Students.Containers != 1 {
		t.Errorf("got %s %q, usage %+v; want error after one student container", res.Result.Status, res.Result.Text, res.Usage)
	}
}

// TestWriteStudentCommon_NoBundle: without a bundle the tar holds the
// course/ folder alone, what a helper waiting for its files unpacks.
func TestWriteStudentCommon_NoBundle(t *testing.T) {
	var buf bytes.Buffer
	room, err := writeStudentCommon(context.Background(), tar.NewWriter(&buf), nil)
	if err != nil || room != 0 {
		t.Fatalf("room %d, err %v; want 0, nil", room, err)
	}
	tr := tar.NewReader(&buf)
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if len(names) != 1 || names[0] != "course/" {
		t.Errorf("entries %q, want [course/]", names)
	}
}
