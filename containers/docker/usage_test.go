package docker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/ingo-grader/ingo/messages"
)

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "cgroup", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestParseCgroupCPU(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		parse func(string) (time.Duration, error)
		data  string
		want  time.Duration
		ok    bool
	}{
		{"v1", parseCPUV1, readTestdata(t, "v1/cpuacct.usage"), 1023456789, true},
		{"v2", parseCPUV2, readTestdata(t, "v2/cpu.stat"), 1023456 * time.Microsecond, true},
		{"v1 garbage", parseCPUV1, "12ab\n", 0, false},
		{"v1 negative", parseCPUV1, "-5\n", 0, false},
		{"v1 empty", parseCPUV1, "", 0, false},
		{"v2 no usage line", parseCPUV2, "user_usec 5\nsystem_usec 6\n", 0, false},
		{"v2 bad number", parseCPUV2, "usage_usec x\n", 0, false},
		// user_usec comes after usage_usec and is not taken for it.
		{"v2 usage line only", parseCPUV2, "usage_usec 7\n", 7 * time.Microsecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.parse(tc.data)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("got %v, %v; want %v (ok %v)", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestParseBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, data string
		want       int64
		ok         bool
	}{
		{"v1 max_usage", readTestdata(t, "v1/memory.max_usage_in_bytes"), 55574528, true},
		{"v2 peak", readTestdata(t, "v2/memory.peak"), 55574528, true},
		{"v2 current", readTestdata(t, "v2/memory.current"), 4190208, true},
		// memory.max (the limit) may say "max": not a usage.
		{"max", "max\n", 0, false},
		{"negative", "-1\n", 0, false},
		{"empty", "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseBytes(tc.data)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("got %d, %v; want %d (ok %v)", got, err, tc.want, tc.ok)
			}
		})
	}
}

// copyCgroup lays the testdata files of version src out under a fake
// cgroup root as the daemon's cgroupfs driver places container id's
// cgroup: v1 per controller under <ctl>/docker/<id>, v2 under
// system.slice/docker-<id>.scope.
func copyCgroup(t *testing.T, root, src, id string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "cgroup", src, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		var dir string
		switch {
		case src != "v1":
			dir = filepath.Join(root, "system.slice", "docker-"+id+".scope")
		case name == "cpuacct.usage":
			dir = filepath.Join(root, "cpu,cpuacct", "docker", id)
		default:
			dir = filepath.Join(root, "memory", "docker", id)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(readTestdata(t, filepath.Join(src, name))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCgroupUsage finds and reads each layout: the peak of v1 and of v2
// with memory.peak, the current use of a v2 kernel without it, and
// nothing at all where no cgroup is (the stats API's case).
func TestCgroupUsage(t *testing.T) {
	t.Parallel()
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		src  string
		want cgroupSample
	}{
		{"v1", cgroupSample{cpu: 1023456789, mem: 55574528, hasCPU: true, hasMem: true}},
		{"v2", cgroupSample{cpu: 1023456 * time.Microsecond, mem: 55574528, hasCPU: true, hasMem: true}},
		{"v2-old", cgroupSample{cpu: 1023456 * time.Microsecond, mem: 52428800, hasCPU: true, hasMem: true}},
	} {
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			copyCgroup(t, root, tc.src, id)
			read := cgroupUsage(root, id, 0)
			if read == nil {
				t.Fatal("no accounting found")
			}
			got, err := read(context.Background())
			if err != nil || got != tc.want {
				t.Errorf("read = %+v, %v; want %+v", got, err, tc.want)
			}
			// Another container's cgroup is never read for this one.
			if other := cgroupUsage(root, "feed"+id[4:], 0); other != nil {
				t.Error("found accounting for a container that has none")
			}
		})
	}
	if cgroupUsage(t.TempDir(), id, 0) != nil {
		t.Error("found accounting in an empty cgroup root")
	}
}

// TestMeterKeepsHighest: reads only raise the figures (the v2
// memory.current goes down as memory is freed; the peak does not), a read
// without a figure leaves it unknown, and none read is 0 (unknown).
func TestMeterKeepsHighest(t *testing.T) {
	t.Parallel()
	m := &meter{}
	if cpu, peak := m.figures(); cpu != 0 || peak != 0 {
		t.Fatalf("fresh meter: %v, %v", cpu, peak)
	}
	m.record(cgroupSample{cpu: time.Second, hasCPU: true})
	if _, peak := m.figures(); peak != 0 {
		t.Fatalf("a read without memory gave a peak of %v", peak)
	}
	m.record(cgroupSample{cpu: 2 * time.Second, mem: 60 << 20, hasCPU: true, hasMem: true})
	m.record(cgroupSample{cpu: 1500 * time.Millisecond, mem: 4 << 20, hasCPU: true, hasMem: true})
	if cpu, peak := m.figures(); cpu != 2 || peak != 60 {
		t.Errorf("figures = %v s, %v MiB; want 2 s, 60 MiB", cpu, peak)
	}
	var none *meter
	none.sampleNow(context.Background()) // no meter: nothing to do
}

func TestDockerStatsSample(t *testing.T) {
	t.Parallel()
	var v1, v2, stopped dockerStats
	v1.CPUStats.CPUUsage.TotalUsage, v1.MemoryStats.Usage, v1.MemoryStats.MaxUsage = 3e9, 10<<20, 70<<20
	v2.CPUStats.CPUUsage.TotalUsage, v2.MemoryStats.Usage = 2e9, 30<<20
	for _, tc := range []struct {
		name string
		s    dockerStats
		want cgroupSample
	}{
		{"v1 max_usage", v1, cgroupSample{cpu: 3 * time.Second, mem: 70 << 20, hasCPU: true, hasMem: true}},
		{"v2 usage", v2, cgroupSample{cpu: 2 * time.Second, mem: 30 << 20, hasCPU: true, hasMem: true}},
		// A container that stopped: all zeros, which are no figures.
		{"stopped", stopped, cgroupSample{}},
	} {
		if got := tc.s.sample(); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestWallSeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		started, finished string
		want              float64
	}{
		{"2026-12-02T20:28:58.100000000Z", "2026-12-02T20:29:00.400000000Z", 2.3},
		{"2026-12-02T20:28:58.1Z", "0001-01-01T00:00:00Z", 0}, // still running
		{"0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", 0},   // never started
		{"2026-12-02T20:29:00Z", "2026-12-02T20:28:00Z", 0},   // out of order
		{"yesterday", "2026-12-02T20:28:00Z", 0},
	} {
		if got := wallSeconds(tc.started, tc.finished); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("wallSeconds(%q, %q) = %v, want %v", tc.started, tc.finished, got, tc.want)
		}
	}
}

func TestStudentTally(t *testing.T) {
	t.Parallel()
	var tally studentTally
	if tally.usage() != nil {
		t.Fatal("usage without a student container")
	}
	tally.add(containerUse{wall: 1, cpu: 0.5, peak: 20})
	tally.add(containerUse{wall: 2, cpu: 0.25, peak: 12})
	tally.add(containerUse{}) // one whose figures are unknown still ran
	want := messages.StudentUsage{Containers: 3, WallTime: 3, CPUTime: 0.75, MemoryPeak: 20}
	if got := tally.usage(); *got != want {
		t.Errorf("usage = %+v, want %+v", *got, want)
	}
}

func TestRoundUsage(t *testing.T) {
	t.Parallel()
	u := roundUsage(&messages.Usage{WallTime: 1.23456, CPUTime: 0.0004, MemoryPeak: 53.123456,
		Students: &messages.StudentUsage{Containers: 1, CPUTime: 2.0006, MemoryPeak: 1.005001}})
	want := messages.Usage{WallTime: 1.235, CPUTime: 0, MemoryPeak: 53.12}
	if u.WallTime != want.WallTime || u.CPUTime != want.CPUTime || u.MemoryPeak != want.MemoryPeak ||
		u.Students.CPUTime != 2.001 || u.Students.MemoryPeak != 1.01 {
		t.Errorf("rounded = %+v, students %+v", *u, *u.Students)
	}
}

// inspectFake answers ContainerInspect with state (an error when nil) and
// counts the calls.
type inspectFake struct {
	fakeAPI
	state    *container.State
	inspects atomic.Int32
}

func (f *inspectFake) ContainerInspect(context.Context, string) (container.InspectResponse, error) {
	f.inspects.Add(1)
	if f.state == nil {
		return container.InspectResponse{}, errors.New("no such container")
	}
	return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{State: f.state}}, nil
}

// TestStoppedState_OneInspect: the OOM check of collect and the wall time
// of usage read one inspect of the stopped container (the daemon answers
// each only after its post-exit cleanup); a failed inspect is no OOM kill
// and no wall time.
func TestStoppedState_OneInspect(t *testing.T) {
	t.Parallel()
	f := &inspectFake{fakeAPI: fakeAPI{events: blockEvents}, state: &container.State{
		OOMKilled: true, StartedAt: "2026-01-02T03:04:05.25Z", FinishedAt: "2026-01-02T03:04:06.75Z"}}
	r := newRuntime(f, quiet())
	defer r.Close()
	c := &running{id: "c1"}
	if !r.stoppedState(t.Context(), c).OOMKilled {
		t.Error("OOMKilled not read")
	}
	if u := r.usage(t.Context(), c); u == nil || u.WallTime != 1.5 {
		t.Errorf("usage = %+v, want a wall time of 1.5 s", u)
	}
	if n := f.inspects.Load(); n != 1 {
		t.Errorf("%d inspects, want 1", n)
	}

	failed := &inspectFake{fakeAPI: fakeAPI{events: blockEvents}}
	r2 := newRuntime(failed, quiet())
	defer r2.Close()
	c2 := &running{id: "c2"}
	if r2.stoppedState(t.Context(), c2).OOMKilled || r2.usage(t.Context(), c2) != nil {
		t.Error("a failed inspect gave an OOM kill or a usage")
	}
	if n := failed.inspects.Load(); n != 1 {
		t.Errorf("%d inspects after a failure, want 1 (not retried per reader)", n)
	}
}
