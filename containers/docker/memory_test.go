package docker

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// JobMemory: the grading container with its files and the helper's share,
// the student containers, /task/student (at most the memory limit) and
// the kernel memory of its files.
func TestJobMemory(t *testing.T) {
	for _, tt := range []struct {
		memory, disk, want int64
	}{
		// The last term: /task/student's inodes, a file a 32 KiB of it
		// (4096 to 16384), 3 KiB each.
		{100, 4096, 108 + 100 + 100 + 12},
		{100, 64, 108 + 100 + 64 + 12},
		{256, 0, 264 + 256 + 256 + 24},     // no disk limit: /task/student 1 GiB, capped
		{2048, 0, 2056 + 2048 + 1024 + 48}, // at most 16384 files
		{0, 4096, 0},                       // no memory limit: nothing to count
	} {
		if got := JobMemory(messages.Limits{Memory: tt.memory, Disk: tt.disk}); got != tt.want {
			t.Errorf("JobMemory(memory %d, disk %d) = %d, want %d", tt.memory, tt.disk, got, tt.want)
		}
	}
}

// The runtime's JobMemory counts, on cgroup v1, the TCP buffers its
// containers may hold beside their memory limits: a quarter of the
// grading container's limit and of the student containers' budget.
func TestRuntimeJobMemory_TCPOnCgroupV1(t *testing.T) {
	l := messages.Limits{Memory: 100, Disk: 64}
	for _, tt := range []struct {
		v1   bool
		want int64
	}{
		{false, 108 + 100 + 64 + 12},
		{true, 108 + 100 + 64 + 12 + 27 + 25},
	} {
		r := &Runtime{opts: Options{cgroupV1: tt.v1}}
		if got := r.JobMemory(l); got != tt.want {
			t.Errorf("cgroup v1 %v: JobMemory = %d, want %d", tt.v1, got, tt.want)
		}
	}
	if got := (&Runtime{opts: Options{cgroupV1: true}}).JobMemory(messages.Limits{}); got != 0 {
		t.Errorf("no memory limit on cgroup v1: JobMemory = %d, want 0", got)
	}
}

// A grader gets its memory limit and no more: the tmpfs mounts are not
// added to it, however large the disk limit, and the files written there
// are memory too. Each run file reports success only if it got what it
// asked for.
func TestRun_MemoryIsTheJobsLimit(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	alloc := "#!/bin/bash\nif python3 -c 'x = b\"x\" * (160 << 20)'; then feedback-result success; else feedback-result failed; fi\n"
	write := "#!/bin/bash\nif head -c 3G /dev/zero > /task/big; then feedback-result success; else feedback-result failed; fi\n"
	for _, tt := range []struct {
		name string
		run  string
		disk int64
	}{
		{"alloc-160MiB", alloc, 64},
		{"alloc-160MiB-disk-4096", alloc, 4096},
		{"write-3GiB-disk-4096", write, 4096},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := newJob(r, task(t, map[string]string{"run": tt.run}), nil)
			job.Limits.Memory, job.Limits.Disk = 100, tt.disk
			res, _ := runJob(t, r, job)
			if res.Result.Status != messages.StatusOverflow {
				t.Errorf("memory 100, disk %d: %s %q, want overflow", tt.disk, res.Result.Status, res.Result.Text)
			}
		})
	}
}

// A small job still works: the helper and the task files fit beside a
// grader that allocates and writes a little. Its cgroup allows the limit
// plus the helper's fixed share, and /task/student holds at most the
// memory limit.
func TestRun_SmallJobFitsItsMemory(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	run := `#!/bin/bash
python3 -c 'x = b"x" * (8 << 20); open("/task/out", "wb").write(x[:4 << 20])' || exit 1
limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)
dir=$(df -k --output=size /task/student | tail -1 | tr -d ' ')
feedback-result success
feedback-msg -m "limit=$limit student-dir=${dir}k out=$(stat -c %s /task/out)"
`
	for _, mem := range []int64{32, 64} {
		t.Run(fmt.Sprintf("memory-%d", mem), func(t *testing.T) {
			t.Parallel()
			job := newJob(r, task(t, map[string]string{"run": run, "data.txt": strings.Repeat("task data\n", 100_000)}), nil)
			job.Limits.Memory, job.Limits.Disk = mem, 256
			res, _ := runJob(t, r, job)
			want := fmt.Sprintf("limit=%d student-dir=%dk out=%d", mem<<20+helperMemory, mem<<10, 4<<20)
			if res.Result.Status != messages.StatusSuccess || res.Result.Text != want {
				t.Errorf("got %s %q\nwant success %q", res.Result.Status, res.Result.Text, want)
			}
		})
	}
}

// The student containers running at once share the job's memory limit:
// two that each ask for most of it run one after the other; two that fit
// together run at once. Each call waits (boundedly) for the other's mark in
// /task/student. A student container's cgroup allows its memory limit
// exactly.
func TestRunStudent_ShareTheJobsMemory(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	body := func(mib, polls int) string {
		return fmt.Sprintf(`
meet='touch /task/student/$1; for i in $(seq %[2]d); do [ -e /task/student/$2 ] && break; sleep 0.1; done
if [ -e /task/student/$2 ]; then echo together; else rm /task/student/$1; echo alone; fi'
run_student --memory %[1]d bash -c "$meet" _ a b >/tmp/a & run_student --memory %[1]d bash -c "$meet" _ b a >/tmp/b & wait
out "$(cat /tmp/a) $(cat /tmp/b)"
run_student sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max' >/tmp/m
out "memory=$(cat /tmp/m)"`, mib, polls)
	}
	// Together: each waits long for the other (both must start); alone:
	// the wait is short, the budget alone decides.
	for _, tt := range []struct {
		mib, polls int
		want       string
	}{{100, 20, "alone alone"}, {64, 300, "together together"}} {
		t.Run(fmt.Sprintf("memory-%d", tt.mib), func(t *testing.T) {
			t.Parallel()
			job := newJob(r, task(t, map[string]string{"run": studentRun(body(tt.mib, tt.polls))}), nil)
			job.Limits.Time, job.Limits.HardTime = 20, 60
			res, _ := runJob(t, r, job)
			want := fmt.Sprintf("%s\nmemory=%d\n", tt.want, job.Limits.Memory<<20)
			if res.Result.Status != messages.StatusSuccess || res.Result.Text != want {
				t.Errorf("got %s %q\nwant success %q", res.Result.Status, res.Result.Text, want)
			}
		})
	}
}
