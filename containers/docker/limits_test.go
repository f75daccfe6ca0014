package docker

import (
	"strconv"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// runModes runs a job made by mk twice, in subtests: started cold, and in
// a warm container of the pool made for its limits. The hostile and
// limits tests run so: the pool changes nothing of a job's container.
func runModes(t *testing.T, mk func(r *Runtime) *containers.Job, check func(t *testing.T, res messages.JobResult)) {
	for _, warm := range []bool{false, true} {
		name := map[bool]string{false: "cold", true: "warm"}[warm]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if !warm {
				r := newTestRuntime(t, Options{})
				res, _ := runJobCold(t, r, mk(r))
				check(t, res)
				return
			}
			r := newTestRuntime(t, Options{Pool: PoolOptions{Size: 1, Environments: []string{"default"}}})
			check(t, runPooled(t, r, mk(r)))
		})
	}
}

func TestRun_MemoryHogOverflow(t *testing.T) {
	t.Parallel()
	run := "#!/usr/bin/env python3\nx = []\nwhile True:\n    x.append(bytearray(8 << 20))\n"
	b := task(t, map[string]string{"run": run})
	runModes(t, func(r *Runtime) *containers.Job {
		job := newJob(r, b, nil)
		job.Limits.Memory = 64
		return job
	}, func(t *testing.T, res messages.JobResult) {
		if res.Result.Status != messages.StatusOverflow {
			t.Errorf("status = %s %q, want overflow", res.Result.Status, res.Result.Text)
		}
	})
}

func TestRun_ForkBombContained(t *testing.T) {
	t.Parallel()
	// The bomb keeps going until the pids limit stops it; the run file
	// waits for a sleep started first (wait needs no fork): only a limit
	// ends the job.
	run := "#!/bin/bash\nsleep 1000 &\nbomb() { bomb | bomb & }\nbomb\nwait\n"
	b := task(t, map[string]string{"run": run})
	runModes(t, func(r *Runtime) *containers.Job {
		job := newJob(r, b, nil)
		job.Limits.Processes, job.Limits.Time, job.Limits.HardTime = 64, 3, 5
		return job
	}, func(t *testing.T, res messages.JobResult) {
		// A timeout (not a hang, not a crash) is the job ending at its limits.
		if res.Result.Status != messages.StatusTimeout {
			t.Errorf("status = %s %q, want timeout", res.Result.Status, res.Result.Text)
		}
	})
}

func TestRun_HugeStdoutBounded(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	run := "#!/bin/bash\nhead -c 20000000 /dev/zero | tr '\\0' a\nfeedback-result success\n"
	job := newJob(r, task(t, map[string]string{"run": run}), nil)
	job.Desc.Debug = messages.DebugOn
	job.Limits.Output = 256 << 10
	res, _ := runJob(t, r, job)
	if res.Result.Status != messages.StatusSuccess {
		t.Errorf("status = %s %q, want success", res.Result.Status, res.Result.Text)
	}
	if len(res.Stdout) > 256<<10 {
		t.Errorf("stdout is %d bytes, over the output limit", len(res.Stdout))
	}
	if !strings.Contains(res.Stdout, "[ingo: stdout cut here") {
		t.Errorf("stdout has no truncation note; its end: %q", res.Stdout[max(0, len(res.Stdout)-200):])
	}
}

// TestRun_DiskBoundsEachFile: one file cannot grow past the disk limit (the
// /task tmpfs, which the run file itself shares, stops it first).
func TestRun_DiskBoundsEachFile(t *testing.T) {
	t.Parallel()
	run := "#!/bin/bash\nif head -c 64M /dev/zero > big 2>/dev/null; then feedback-result failed; else feedback-result success; fi\nfeedback-msg -m \"$(stat -c %s big)\"\n"
	b := task(t, map[string]string{"run": run})
	runModes(t, func(r *Runtime) *containers.Job {
		job := newJob(r, b, nil)
		job.Limits.Disk = 16
		return job
	}, func(t *testing.T, res messages.JobResult) {
		size, err := strconv.Atoi(res.Result.Text)
		if res.Result.Status != messages.StatusSuccess || err != nil || size > 16<<20 || size < 15<<20 {
			t.Errorf("result = %+v, want the write stopped at 16 MiB", res.Result)
		}
	})
}
