package docker

import (
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// Bounds of the CPU time a busy loop with a CPU limit of 1 s reports:
// the limit is seen at the first read over it (every CPUPoll with the
// cgroup, about every second with the stats stream), and the kill takes
// a moment more; under load the loop uses less CPU per read, never more.
// Wide enough that a loaded machine cannot make them flake.
const (
	busyCPUMin      = 0.8
	busyCPUMax      = 2.0
	busyCPUMaxStats = 3.5
)

// alloc50 allocates and touches 50 MiB in Python and holds them a second
// (a kernel without memory.peak shows the peak only while it is held).
const alloc50 = `python3 -c 'import time; b = bytes([1]) * (50 << 20); time.sleep(1)'`

func TestUsage_BusyLoop(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, root string
		maxCPU     float64
	}{
		{"cgroup", "", busyCPUMax},
		// No readable cgroup (an agent in a container): the stats API.
		{"stats", "/nonexistent", busyCPUMaxStats},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newTestRuntime(t, Options{cgroupRoot: tc.root})
			job := newJob(r, task(t, map[string]string{"run": "#!/bin/bash\nwhile :; do :; done\n"}), nil)
			job.Limits.Time, job.Limits.HardTime = 1, 30
			res, _ := runJob(t, r, job)
			if res.Result.Status != messages.StatusTimeout {
				t.Errorf("status %s, want timeout", res.Result.Status)
			}
			u := res.Usage
			if u == nil {
				t.Fatal("no usage")
			}
			t.Logf("usage: %+v", *u)
			if u.CPUTime < busyCPUMin || u.CPUTime > tc.maxCPU {
				t.Errorf("CPU time %v s for a 1 s limit, want within [%v, %v]", u.CPUTime, busyCPUMin, tc.maxCPU)
			}
			// One CPU per job: the wall time is at least the CPU time's
			// part before the limit.
			if u.WallTime < busyCPUMin {
				t.Errorf("wall time %v s, below the CPU time used", u.WallTime)
			}
			if u.MemoryPeak <= 0 {
				t.Errorf("no memory peak")
			}
			if u.Students != nil {
				t.Errorf("student usage %+v without student containers", *u.Students)
			}
		})
	}
}

func TestUsage_Allocation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, root string }{
		{"cgroup", ""},
		{"stats", "/nonexistent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newTestRuntime(t, Options{cgroupRoot: tc.root})
			job := newJob(r, task(t, map[string]string{"run": "#!/bin/sh\n" + alloc50 + "\nfeedback-result success\n"}), nil)
			job.Limits.Memory = 128
			res, _ := runJob(t, r, job)
			if res.Result.Status != messages.StatusSuccess {
				t.Fatalf("result %+v, want success", res.Result)
			}
			u := res.Usage
			if u == nil {
				t.Fatal("no usage")
			}
			t.Logf("usage: %+v", *u)
			if u.MemoryPeak < 50 || u.MemoryPeak > 128+helperMemory>>20 {
				t.Errorf("peak %v MiB for 50 MiB allocated under a 128 MiB limit", u.MemoryPeak)
			}
			if u.CPUTime <= 0 || u.WallTime < 1 {
				t.Errorf("cpu %v s, wall %v s: the program ran a second", u.CPUTime, u.WallTime)
			}
		})
	}
}

// TestUsage_Students: student containers are counted apart from the
// grading container: their CPU and their peak are theirs, not the
// grading container's.
func TestUsage_Students(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	run := studentRun(`
run_student --time 1 sh -c 'while :; do :; done'; out "busy=$?"
run_student ` + alloc50 + `; out "alloc=$?"`)
	job := newJob(r, task(t, map[string]string{"run": run}), nil)
	job.Limits.Time, job.Limits.HardTime, job.Limits.Memory = 10, 60, 128
	res, _ := runJob(t, r, job)
	if res.Result.Status != messages.StatusSuccess || res.Result.Text != "busy=253\nalloc=0\n" {
		t.Fatalf("result %+v", res.Result)
	}
	u := res.Usage
	if u == nil || u.Students == nil {
		t.Fatalf("usage %+v without the students'", u)
	}
	s := u.Students
	t.Logf("usage: %+v, students %+v", *u, *s)
	if s.Containers != 2 {
		t.Errorf("%d student containers, want 2", s.Containers)
	}
	// The busy one used its second, the allocating one a little more.
	if s.CPUTime < busyCPUMin || s.CPUTime > busyCPUMax+1 {
		t.Errorf("students' CPU time %v s, want within [%v, %v]", s.CPUTime, busyCPUMin, busyCPUMax+1)
	}
	if s.MemoryPeak < 50 {
		t.Errorf("students' peak %v MiB, want at least 50", s.MemoryPeak)
	}
	if s.WallTime < 2 {
		t.Errorf("students' wall time %v s: they ran a second each at least", s.WallTime)
	}
	// The grading container only waited: far below the students'.
	if u.CPUTime >= s.CPUTime || u.MemoryPeak >= 50 {
		t.Errorf("grading container: %v s CPU, %v MiB: the students' use counted there", u.CPUTime, u.MemoryPeak)
	}
}
