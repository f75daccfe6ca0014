package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// defaultCgroupRoot is where cgroup filesystems are mounted.
const defaultCgroupRoot = "/sys/fs/cgroup"

// cpuReader reads a container's CPU time used so far.
type cpuReader func() (time.Duration, error)

// cgroupDirs lists the directories the container's cgroup may be in, most
// likely first: for cgroup v1 under each of the controller mounts ctls
// (e.g. "memory", or "cpuacct" and "cpu,cpuacct"), for cgroup v2 in the
// unified tree; the usual cgroupfs and systemd paths, and the paths
// /proc/<pid>/cgroup gives for the container's init process (pid 0: none).
// Callers keep the first whose file they can read.
func cgroupDirs(cgroupRoot, id string, pid int, ctls ...string) (v1, v2 []string) {
	if pid > 0 {
		if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid)); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				parts := strings.SplitN(sc.Text(), ":", 3)
				// The pid is the daemon's view; in another pid namespace it
				// may be another process: keep only paths naming the container.
				if len(parts) != 3 || !strings.Contains(parts[2], id) {
					continue
				}
				if parts[0] == "0" && parts[1] == "" {
					v2 = append(v2, filepath.Join(cgroupRoot, parts[2]))
					continue
				}
				for _, ctl := range ctls {
					if hasController(parts[1], ctl) {
						v1 = append(v1, filepath.Join(cgroupRoot, parts[1], parts[2]))
						for _, c := range ctls {
							v1 = append(v1, filepath.Join(cgroupRoot, c, parts[2]))
						}
						break
					}
				}
			}
		}
	}
	for _, ctl := range ctls {
		v1 = append(v1, filepath.Join(cgroupRoot, ctl, "docker", id), filepath.Join(cgroupRoot, ctl, "system.slice", "docker-"+id+".scope"))
	}
	v2 = append(v2, filepath.Join(cgroupRoot, "system.slice", "docker-"+id+".scope"), filepath.Join(cgroupRoot, "docker", id))
	return v1, v2
}

// cgroupCPU finds a readable CPU accounting file of the container: cgroup
// v1 cpuacct.usage (ns) or cgroup v2 cpu.stat usage_usec (see cgroupDirs).
// It returns nil when none is readable (e.g. the agent runs in a container
// without the host's cgroup tree).
func cgroupCPU(cgroupRoot, id string, pid int) cpuReader {
	v1, v2 := cgroupDirs(cgroupRoot, id, pid, "cpuacct", "cpu,cpuacct")
	for _, dir := range v1 {
		f := filepath.Join(dir, "cpuacct.usage")
		if _, err := readV1(f); err == nil {
			return func() (time.Duration, error) { return readV1(f) }
		}
	}
	for _, dir := range v2 {
		f := filepath.Join(dir, "cpu.stat")
		if _, err := readV2(f); err == nil {
			return func() (time.Duration, error) { return readV2(f) }
		}
	}
	return nil
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

func readV1(f string) (time.Duration, error) {
	data, err := os.ReadFile(f)
	if err != nil {
		return 0, err
	}
	d, err := parseCPUV1(string(data))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", f, err)
	}
	return d, nil
}

func readV2(f string) (time.Duration, error) {
	data, err := os.ReadFile(f)
	if err != nil {
		return 0, err
	}
	d, err := parseCPUV2(string(data))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", f, err)
	}
	return d, nil
}

// parseCPUV1 reads cgroup v1 cpuacct.usage: nanoseconds.
func parseCPUV1(data string) (time.Duration, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(data), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cpuacct.usage: %w", err)
	}
	if n < 0 {
		return 0, fmt.Errorf("cpuacct.usage: negative %d", n)
	}
	return time.Duration(n), nil
}

// parseCPUV2 reads the usage_usec line of cgroup v2 cpu.stat:
// microseconds, user and system.
func parseCPUV2(data string) (time.Duration, error) {
	for _, line := range strings.Split(data, "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("cpu.stat usage_usec: %w", err)
			}
			if n < 0 {
				return 0, fmt.Errorf("cpu.stat usage_usec: negative %d", n)
			}
			return time.Duration(n) * time.Microsecond, nil
		}
	}
	return 0, fmt.Errorf("cpu.stat: no usage_usec line")
}

// watchUsage samples the container's accounting into m (see usage.go)
// until its cgroup is gone (it stopped) or ctx ends, and calls over once
// its CPU time exceeds limit (0: no limit). It polls the cgroup files
// every poll; without them, it follows Docker's stats stream (about one
// sample a second).
func (r *Runtime) watchUsage(ctx context.Context, id string, m *meter, limit time.Duration, over func()) {
	check := func(s cgroupSample) {
		m.record(s)
		if limit > 0 && s.hasCPU && s.cpu > limit {
			over()
		}
	}
	if !m.stats {
		t := time.NewTicker(r.opts.CPUPoll)
		defer t.Stop()
		for {
			s, err := m.read(ctx)
			if err != nil {
				// The cgroup is gone: the container stopped.
				return
			}
			check(s)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
	r.log.Debug("cgroup accounting not readable; using the stats stream", "container", id)
	st, err := r.api.ContainerStats(ctx, id, true)
	if err != nil {
		if limit > 0 {
			r.log.Warn("no CPU accounting for the container: only the wall-clock limit applies", "container", id, "err", err)
		}
		return
	}
	defer st.Body.Close()
	dec := json.NewDecoder(st.Body)
	for ctx.Err() == nil {
		var s dockerStats
		if err := dec.Decode(&s); err != nil {
			return
		}
		check(s.sample())
	}
}

// limitWatch watches a running container's CPU time and wall time.
type limitWatch struct {
	over <-chan struct{}  // closed once the CPU time is used (nil: no limit)
	hard <-chan time.Time // fires at the wall time (nil: no limit)
	stop func()
}

// watchLimits starts watching the container id: cpu and wall are seconds,
// 0 for none; m (nil: not wanted) gets what it used, sampled by the same
// loop. stop ends the watch; it may be called more than once.
func (r *Runtime) watchLimits(ctx context.Context, id string, m *meter, cpu, wall float64) limitWatch {
	cpuCtx, stopCPU := context.WithCancel(context.WithoutCancel(ctx))
	lw := limitWatch{}
	var timer *time.Timer
	if cpu > 0 || m != nil {
		if m == nil {
			m = r.newMeter(id, r.initPid(cpuCtx, id))
		}
		over := make(chan struct{})
		var once sync.Once
		go r.watchUsage(cpuCtx, id, m, time.Duration(cpu*float64(time.Second)), func() { once.Do(func() { close(over) }) })
		if cpu > 0 {
			lw.over = over
		}
	}
	if wall > 0 {
		timer = time.NewTimer(time.Duration(wall * float64(time.Second)))
		lw.hard = timer.C
	}
	lw.stop = func() {
		stopCPU()
		if timer != nil {
			timer.Stop()
		}
	}
	return lw
}

// firstReadable returns a reader of the first of files that can be read
// and parsed now (cgroup v1 and v2 name a figure differently), or nil
// when none can: the figure is then unknown, never guessed.
func firstReadable(files []string, parse func(string) (int64, error)) func() (int64, error) {
	read := func(f string) (int64, error) {
		data, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		n, err := parse(string(data))
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		return n, nil
	}
	for _, f := range files {
		if _, err := read(f); err == nil {
			return func() (int64, error) { return read(f) }
		}
	}
	return nil
}
