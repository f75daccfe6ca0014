package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A container's cgroup goes with it: once the daemon says it stopped,
// its accounting files are gone (cgroup v1 and v2 alike). So what a
// container used is read while it runs, by the loop that watches its CPU
// limit (every Options.CPUPoll), and once more when the grading
// container's result comes over the channel (the helper waits for the
// agent to have it before it exits, so the cgroup is still there). Each
// figure is the highest read: a lower bound, short of the truth by what
// was used after the last read (for a grading container with a result:
// the helper's exit only).

// cgroupSample is one read of a container's accounting; has* say which
// figures the read could give.
type cgroupSample struct {
	cpu    time.Duration // CPU time used so far (user + system)
	mem    int64         // bytes: the peak so far, or the current use
	hasCPU bool
	hasMem bool
}

// sampler reads a container's accounting once.
type sampler func(ctx context.Context) (cgroupSample, error)

// meter keeps the highest figures a container's reads gave.
type meter struct {
	read   sampler
	stats  bool // read is Docker's stats API (no cgroup readable)
	mu     sync.Mutex
	cpu    time.Duration
	peak   int64
	hasCPU bool
	hasMem bool
}

// newMeter finds how to read container id's accounting (pid: its init
// process as the daemon sees it, 0 when unknown): its cgroup files, else
// Docker's stats API (an agent in a container without the host's cgroup
// tree).
func (r *Runtime) newMeter(id string, pid int) *meter {
	if read := cgroupUsage(r.opts.cgroupRoot, id, pid); read != nil {
		return &meter{read: read}
	}
	return &meter{stats: true, read: func(ctx context.Context) (cgroupSample, error) {
		actx, cancel := r.apiCtx(ctx)
		defer cancel()
		st, err := r.api.ContainerStatsOneShot(actx, id)
		if err != nil {
			return cgroupSample{}, fmt.Errorf("stats of %s: %w", id, err)
		}
		defer st.Body.Close()
		var s dockerStats
		if err := json.NewDecoder(st.Body).Decode(&s); err != nil {
			return cgroupSample{}, fmt.Errorf("stats of %s: %w", id, err)
		}
		return s.sample(), nil
	}}
}

// record keeps s's figures where they are higher.
func (m *meter) record(s cgroupSample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.hasCPU {
		m.cpu, m.hasCPU = max(m.cpu, s.cpu), true
	}
	if s.hasMem {
		m.peak, m.hasMem = max(m.peak, s.mem), true
	}
}

// sampleNow reads the accounting once and records it; a container gone
// meanwhile changes nothing.
func (m *meter) sampleNow(ctx context.Context) {
	if m == nil {
		return
	}
	if s, err := m.read(ctx); err == nil {
		m.record(s)
	}
}

// figures are the highest CPU time (seconds) and memory (MiB) read, 0
// when none could be.
func (m *meter) figures() (cpu, peakMiB float64) {
	if m == nil {
		return 0, 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hasCPU {
		cpu = m.cpu.Seconds()
	}
	if m.hasMem {
		peakMiB = float64(m.peak) / (1 << 20)
	}
	return cpu, peakMiB
}

// dockerStats is the part of a stats API answer read: cgroup v1 daemons
// give max_usage (the peak), cgroup v2 ones only usage (the current use).
type dockerStats struct {
	CPUStats struct {
		CPUUsage struct {
			TotalUsage uint64 `json:"total_usage"`
		} `json:"cpu_usage"`
	} `json:"cpu_stats"`
	MemoryStats struct {
		Usage    uint64 `json:"usage"`
		MaxUsage uint64 `json:"max_usage"`
	} `json:"memory_stats"`
	// Read is zero in the answer about a container that is not running.
	Read time.Time `json:"read"`
}

func (s *dockerStats) sample() cgroupSample {
	// A stopped container's answer is all zeros: no figure, not a 0.
	if s.CPUStats.CPUUsage.TotalUsage == 0 {
		return cgroupSample{}
	}
	mem := max(s.MemoryStats.Usage, s.MemoryStats.MaxUsage)
	return cgroupSample{
		cpu: time.Duration(s.CPUStats.CPUUsage.TotalUsage), hasCPU: true,
		mem: int64(mem), hasMem: mem > 0,
	}
}

// cgroupUsage finds the container's accounting files (see cgroupDirs):
// CPU time as cgroupCPU does; memory from cgroup v1
// memory.max_usage_in_bytes (the peak), or cgroup v2 memory.peak (Linux
// 5.19 and later), else memory.current (the use when read: the peak is
// then the highest read). nil when no CPU file is readable; a memory file
// may be missing (then no memory figure).
func cgroupUsage(cgroupRoot, id string, pid int) sampler {
	cpu := cgroupCPU(cgroupRoot, id, pid)
	if cpu == nil {
		return nil
	}
	mem := cgroupMemory(cgroupRoot, id, pid)
	return func(context.Context) (cgroupSample, error) {
		used, err := cpu()
		if err != nil {
			return cgroupSample{}, err
		}
		s := cgroupSample{cpu: used, hasCPU: true}
		if mem != nil {
			if n, err := mem(); err == nil {
				s.mem, s.hasMem = n, true
			}
		}
		return s, nil
	}
}

// cgroupMemory finds a readable memory file of the container (most
// telling first), or nil.
func cgroupMemory(cgroupRoot, id string, pid int) func() (int64, error) {
	v1, v2 := cgroupDirs(cgroupRoot, id, pid, "memory")
	var files []string
	for _, d := range v1 {
		files = append(files, filepath.Join(d, "memory.max_usage_in_bytes"))
	}
	for _, name := range []string{"memory.peak", "memory.current"} {
		for _, d := range v2 {
			files = append(files, filepath.Join(d, name))
		}
	}
	return firstReadable(files, parseBytes)
}

// parseBytes reads memory.max_usage_in_bytes (v1), memory.peak or
// memory.current (v2): one decimal number and a newline.
func parseBytes(data string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(data), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a byte count: %w", err)
	}
	if n < 0 {
		return 0, fmt.Errorf("negative byte count %d", n)
	}
	return n, nil
}
