package docker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"

	"github.com/ingo-grader/ingo/containers/helper/contract"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// oomBlind hides some of the OOM signs of the grading containers from the
// runtime, so that each other sign is shown to suffice: State.OOMKilled
// (whose meaning depends on the daemon and its containerd; this one sets
// it for any process of the container), and optionally the container
// events. Student containers keep their State.OOMKilled unless students
// is set: run_student's 252 then comes from the count the student
// container's helper reads in its own cgroup.
type oomBlind struct {
	dockerAPI
	noEvents bool
	students bool
}

func (b *oomBlind) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	ins, err := b.dockerAPI.ContainerInspect(ctx, id)
	if err == nil && ins.State != nil && (b.students || ins.Config == nil || ins.Config.Labels[LabelRole] != "student") {
		ins.State.OOMKilled = false
	}
	return ins, err
}

func (b *oomBlind) Events(ctx context.Context, o events.ListOptions) (<-chan events.Message, <-chan error) {
	if b.noEvents && o.Filters.Contains("container") {
		errs := make(chan error, 1)
		errs <- errors.New("oomBlind: no container events")
		return make(chan events.Message), errs
	}
	return b.dockerAPI.Events(ctx, o)
}

// INGInious' rule (issue 14): an OOM kill of any process of the grading
// container makes the job overflow, even when the run file survives it and
// says success; the text is INGInious' (its agent sends "overflow" with an
// empty text). An OOM kill inside a student container is that container's
// own (run_student returns 252) and the job keeps the run file's result.
// Each sign of an OOM kill is tried alone: the daemon's State.OOMKilled,
// its "oom" event, the cgroup's oom_kill counter.
func TestRun_OOMOfAnyGradingProcessIsOverflow(t *testing.T) {
	t.Parallel()
	base := newTestRuntime(t, Options{})
	noCgroup := base.opts
	noCgroup.cgroupRoot = t.TempDir()
	// The counter is polled (every CPUPoll) while the container runs, and
	// read once more when the result comes: cgroup-only gives the poll
	// time to see it, cgroup-at-result polls too seldom to, so only the
	// read at the result can (the "oom" event may come after the "die" on
	// a loaded machine). In both, only the student container's helper,
	// reading its own cgroup's count, can tell its 252.
	slowPoll := base.opts
	slowPoll.CPUPoll = time.Hour
	runtimes := []struct {
		name  string
		api   dockerAPI
		opts  Options
		after string
	}{
		{"all-signs", base.api, base.opts, ""},
		{"events-only", &oomBlind{dockerAPI: base.api}, noCgroup, ""},
		{"cgroup-only", &oomBlind{dockerAPI: base.api, noEvents: true, students: true}, base.opts, "\nsleep 0.5"},
		{"cgroup-at-result", &oomBlind{dockerAPI: base.api, noEvents: true, students: true}, slowPoll, ""},
	}
	jobs := []struct {
		name, body string
		want       messages.Status
		text       string
	}{
		// tail keeps the one 700 MB line: the OOM killer takes it, the
		// shell goes on and says success.
		{"grading-child", "head -c 700000000 /dev/zero | tail >/dev/null\nout \"pipe=$?\"", messages.StatusOverflow, ""},
		{"student", "run_student sh -c 'head -c 700000000 /dev/zero | tail >/dev/null'\nout \"code=$?\"", messages.StatusSuccess, "code=252\n"},
		// Memory that is files counts to no process: the OOM killer
		// takes the largest, which was the student helper before the
		// commands it starts had a higher score. The memory stays full
		// after the kill, and the helper's own code pages are
		// reclaimable: it may still need a page to exit, and die. Then
		// only the daemon's flag tells the 252, so this job runs only
		// where the runtime sees the student containers' flag.
		{"student-files", "run_student sh -c 'head -c 40000000 /dev/zero >/dev/shm/x; head -c 700000000 /dev/zero >/task/student/x'\nout \"code=$?\"", messages.StatusSuccess, "code=252\n"},
		{"normal", "head -c 1000000 /dev/zero | tail >/dev/null\nout \"pipe=$?\"", messages.StatusSuccess, "pipe=0\n"},
	}
	for _, rt := range runtimes {
		r := base
		if rt.api != base.api {
			r = newRuntime(rt.api, rt.opts)
			t.Cleanup(r.shutdown) // not Close: the API client is base's
		}
		for _, tt := range jobs {
			if blind, ok := rt.api.(*oomBlind); ok && blind.students && tt.name == "student-files" {
				continue
			}
			t.Run(rt.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				job := newJob(r, task(t, map[string]string{"run": studentRun(tt.body + rt.after)}), nil)
				job.Limits.Memory = 64
				res, _ := runJob(t, r, job)
				if res.Result.Status != tt.want || res.Result.Text != tt.text {
					t.Errorf("got %s %q, want %s %q", res.Result.Status, res.Result.Text, tt.want, tt.text)
				}
			})
		}
	}
}

// The oom_kill counter of cgroup v1 (memory.oom_control) and v2
// (memory.events), read from sample files; the cgroup read is the grading
// container's own, never a sibling's (a student container's).
func TestCgroupOOMKills(t *testing.T) {
	const (
		id      = "0123456789abcdef"
		student = "fedcba9876543210"
	)
	v1 := "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"
	v2 := "low 0\nhigh 0\nmax 41\noom 3\noom_kill 3\noom_group_kill 0\n"
	for _, tt := range []struct {
		name  string
		files map[string]string // path under the cgroup root -> content
		want  int64
	}{
		{"v1-cgroupfs", map[string]string{"memory/docker/" + id + "/memory.oom_control": v1, "memory/docker/" + student + "/memory.oom_control": "oom_kill 9\n"}, 2},
		{"v1-systemd", map[string]string{"memory/system.slice/docker-" + id + ".scope/memory.oom_control": v1}, 2},
		{"v2-systemd", map[string]string{"system.slice/docker-" + id + ".scope/memory.events": v2, "system.slice/docker-" + student + ".scope/memory.events": "oom_kill 9\n"}, 3},
		{"v2-cgroupfs", map[string]string{"docker/" + id + "/memory.events": v2}, 3},
		{"v2-none-yet", map[string]string{"docker/" + id + "/memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			testutil.WriteTree(t, root, tt.files)
			read := cgroupOOMKills(root, id, 0)
			if read == nil {
				t.Fatal("no counter found")
			}
			if n, err := read(); err != nil || n != tt.want {
				t.Errorf("oom_kill = %d, %v; want %d", n, err, tt.want)
			}
		})
	}
	if read := cgroupOOMKills(t.TempDir(), id, 0); read != nil {
		t.Error("a counter found in an empty cgroup tree")
	}
	// A kernel before 4.13 has no oom_kill line in memory.oom_control.
	if _, err := contract.ParseOOMKills("oom_kill_disable 0\nunder_oom 0\n"); err == nil {
		t.Error("ParseOOMKills without an oom_kill line: no error")
	}
}

// The cgroup's counter, polled while the container runs, stops it at an
// OOM kill: the job ends overflow then, not when the run file would have
// (after a minute's sleep), with the events hidden. The read when the
// result comes would give overflow too, but only at the run file's end.
func TestRun_OOMKillStopsTheContainer(t *testing.T) {
	t.Parallel()
	base := newTestRuntime(t, Options{})
	r := newRuntime(&oomBlind{dockerAPI: base.api, noEvents: true}, base.opts)
	t.Cleanup(r.shutdown) // not Close: the API client is base's
	job := newJob(r, task(t, map[string]string{"run": studentRun("head -c 700000000 /dev/zero | tail >/dev/null\nsleep 60")}), nil)
	job.Limits.Memory = 64
	job.Limits.Time, job.Limits.HardTime = 120, 120
	res, _ := runJob(t, r, job)
	if res.Result.Status != messages.StatusOverflow {
		t.Fatalf("got %s %q, want overflow", res.Result.Status, res.Result.Text)
	}
	if res.Usage == nil || res.Usage.WallTime >= 30 {
		t.Errorf("usage %+v: the container ran on after the OOM kill, want it stopped within seconds", res.Usage)
	}
}

// The commands the helpers start, and what those fork at once, are the OOM
// killer's first choice; the helpers themselves keep the container's score.
// A non-dumpable helper could not write its children's scores before their
// exec, nor its own once non-dumpable: before, every process here had 0,
// and a helper bigger than the command it waited on was the victim.
func TestRun_CommandsAreTheOOMVictims(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	// The helper lowers its own score back just after the fork: the run
	// file may look before it has (CI: helper=500), so it waits for that.
	job := newJob(r, task(t, map[string]string{"run": studentRun(`for i in $(seq 100); do [ "$(cat /proc/1/oom_score_adj)" = 0 ] && break; sleep 0.05; done
out "run=$(cat /proc/$$/oom_score_adj) child=$(cat /proc/self/oom_score_adj) helper=$(cat /proc/1/oom_score_adj)"
out "$(run_student sh -c 'for i in $(seq 100); do [ "$(cat /proc/1/oom_score_adj)" = 0 ] && break; sleep 0.05; done; echo student=$(cat /proc/$$/oom_score_adj) child=$(cat /proc/self/oom_score_adj) helper=$(cat /proc/1/oom_score_adj)')"`)}), nil)
	res, _ := runJob(t, r, job)
	want := "run=500 child=500 helper=0\nstudent=500 child=500 helper=0\n"
	if res.Result.Status != messages.StatusSuccess || res.Result.Text != want {
		t.Errorf("got %s %q, want success %q", res.Result.Status, res.Result.Text, want)
	}
}
