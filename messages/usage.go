package messages

import (
	"fmt"
	"math"
)

// Bounds of a Usage: far above any job (a year, a pebibyte), low enough
// that a figure past them is a bug or a forgery, not a measurement.
const (
	maxUsageSeconds    = 366 * 24 * 3600
	maxUsageMiB        = 1 << 30
	maxUsageContainers = 1 << 20
)

// Usage is what a job's containers used (DESIGN.md §4), measured by the
// agent from their cgroup accounting. Each figure is a lower bound: the
// accounting is read while a container runs (its cgroup goes with it), so
// what it used after the last read is not counted. A figure that is 0 (and
// absent on the wire) is unknown: no container does nothing at all.
type Usage struct {
	// WallTime is the seconds from the grading container's start (for a
	// warm container: when the job was handed to it) to its end: its
	// result's arrival, or its exit where no result came (a lower bound,
	// as CPUTime and MemoryPeak: the helper's own exit is not counted).
	WallTime float64 `cbor:"wall_time,omitempty" json:"wall_time,omitempty"`
	// CPUTime is the seconds of CPU (user and system, all cores) the
	// grading container's processes used, the helper's included.
	CPUTime float64 `cbor:"cpu_time,omitempty" json:"cpu_time,omitempty"`
	// MemoryPeak is the most memory (MiB) the grading container's cgroup
	// held at once: its processes and the files of its tmpfs mounts.
	MemoryPeak float64 `cbor:"memory_peak,omitempty" json:"memory_peak,omitempty"`
	// Students are the student containers (run_student, ssh_student) of
	// the job; nil when none ran.
	Students *StudentUsage `cbor:"students,omitempty" json:"students,omitempty"`
}

// StudentUsage sums the student containers of a job.
type StudentUsage struct {
	// Containers is how many ran (were started).
	Containers int `cbor:"containers" json:"containers"`
	// WallTime and CPUTime are summed over them, in seconds.
	WallTime float64 `cbor:"wall_time,omitempty" json:"wall_time,omitempty"`
	CPUTime  float64 `cbor:"cpu_time,omitempty" json:"cpu_time,omitempty"`
	// MemoryPeak is the highest peak (MiB) of one of them.
	MemoryPeak float64 `cbor:"memory_peak,omitempty" json:"memory_peak,omitempty"`
}

// Validate checks that every figure is finite, not negative and within
// the bounds; Decode refuses a result whose usage fails it.
func (u *Usage) Validate() error {
	if u == nil {
		return nil
	}
	if err := checkFigures(u.WallTime, u.CPUTime, u.MemoryPeak); err != nil {
		return err
	}
	if s := u.Students; s != nil {
		if s.Containers < 0 || s.Containers > maxUsageContainers {
			return fmt.Errorf("students: containers %d is outside [0, %d]", s.Containers, maxUsageContainers)
		}
		if err := checkFigures(s.WallTime, s.CPUTime, s.MemoryPeak); err != nil {
			return fmt.Errorf("students: %w", err)
		}
	}
	return nil
}

func checkFigures(wall, cpu, peak float64) error {
	for _, f := range []struct {
		name  string
		v     float64
		bound float64
	}{{"wall_time", wall, maxUsageSeconds}, {"cpu_time", cpu, maxUsageSeconds}, {"memory_peak", peak, maxUsageMiB}} {
		switch {
		case math.IsNaN(f.v) || math.IsInf(f.v, 0):
			return fmt.Errorf("%s is not a finite number", f.name)
		case f.v < 0:
			return fmt.Errorf("%s %v is negative", f.name, f.v)
		case f.v > f.bound:
			return fmt.Errorf("%s %v is over the bound of %v", f.name, f.v, f.bound)
		}
	}
	return nil
}

// checkUsage validates the usage of the results m carries.
func checkUsage(m Message) error {
	var us []*Usage
	switch m := m.(type) {
	case *AgentJobDone:
		us = append(us, m.Usage)
	case *BackendJobDone:
		us = append(us, m.Usage)
	case *BackendHistory:
		for i := range m.Jobs {
			us = append(us, m.Jobs[i].Usage)
		}
	}
	for _, u := range us {
		if err := u.Validate(); err != nil {
			return fmt.Errorf("usage: %w", err)
		}
	}
	return nil
}
