package bridge

import "github.com/ingo-grader/ingo/messages"

// customUsage is the custom value holding what a job used.
const customUsage = "ingo_usage"

// usageCustom is u as a custom value: the keys of ingo's result JSON
// (wall_time and cpu_time in seconds, memory_peak in MiB; a figure not
// known left out), plain maps and floats so that msgpack and the webapp's
// MongoDB take it as they take a grader's custom values.
func usageCustom(u *messages.Usage) map[string]any {
	m := figures(u.WallTime, u.CPUTime, u.MemoryPeak)
	if s := u.Students; s != nil {
		st := figures(s.WallTime, s.CPUTime, s.MemoryPeak)
		st["containers"] = int64(s.Containers)
		m["students"] = st
	}
	return m
}

func figures(wall, cpu, peak float64) map[string]any {
	m := map[string]any{}
	for k, v := range map[string]float64{"wall_time": wall, "cpu_time": cpu, "memory_peak": peak} {
		if v > 0 {
			m[k] = v
		}
	}
	return m
}
