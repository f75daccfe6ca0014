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
	"time"
)

// defaultCgroupRoot is where cgroup filesystems are mounted.
const defaultCgroupRoot = "/sys/fs/cgroup"

// cpuReader reads a container's CPU time used so far.
type cpuReader func() (time.Duration, error)

// cgroupCPU finds a readable CPU accounting file of the container: cgroup
// v1 cpuacct.usage (ns) or cgroup v2 cpu.stat usage_usec, under the usual
// cgroupfs and systemd paths or the path /proc/<pid>/cgroup gives for the
// container's init process. It returns nil when none is readable (e.g. the
// agent runs in a container without the host's cgroup tree).
func cgroupCPU(cgroupRoot, id string, pid int) cpuReader {
	var v1, v2 []string
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
				switch {
				case parts[0] == "0" && parts[1] == "":
					v2 = append(v2, filepath.Join(cgroupRoot, parts[2]))
				case hasController(parts[1], "cpuacct"):
					v1 = append(v1, filepath.Join(cgroupRoot, parts[1], parts[2]), filepath.Join(cgroupRoot, "cpuacct", parts[2]), filepath.Join(cgroupRoot, "cpu,cpuacct", parts[2]))
				}
			}
		}
	}
	for _, ctl := range []string{"cpuacct", "cpu,cpuacct"} {
		v1 = append(v1, filepath.Join(cgroupRoot, ctl, "docker", id), filepath.Join(cgroupRoot, ctl, "system.slice", "docker-"+id+".scope"))
	}
	v2 = append(v2, filepath.Join(cgroupRoot, "system.slice", "docker-"+id+".scope"), filepath.Join(cgroupRoot, "docker", id))
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
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return time.Duration(n), err
}

func readV2(f string) (time.Duration, error) {
	data, err := os.ReadFile(f)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Duration(n) * time.Microsecond, err
		}
	}
	return 0, fmt.Errorf("%s: no usage_usec", f)
}

// watchCPU calls over once the container's CPU time exceeds limit. It
// polls the cgroup accounting every poll; without it, it follows Docker's
// stats stream (about one sample a second). It returns when ctx ends.
func (r *Runtime) watchCPU(ctx context.Context, id string, pid int, limit time.Duration, over func()) {
	if read := cgroupCPU(r.opts.cgroupRoot, id, pid); read != nil {
		t := time.NewTicker(r.opts.CPUPoll)
		defer t.Stop()
		for {
			if used, err := read(); err == nil && used > limit {
				over()
				return
			} else if err != nil {
				// The cgroup is gone: the container stopped.
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
	r.log.Debug("cgroup CPU accounting not readable; using the stats stream", "container", id)
	st, err := r.api.ContainerStats(ctx, id, true)
	if err != nil {
		r.log.Warn("no CPU accounting for the container: only the wall-clock limit applies", "container", id, "err", err)
		return
	}
	defer st.Body.Close()
	dec := json.NewDecoder(st.Body)
	for ctx.Err() == nil {
		var s struct {
			CPUStats struct {
				CPUUsage struct {
					TotalUsage uint64 `json:"total_usage"`
				} `json:"cpu_usage"`
			} `json:"cpu_stats"`
		}
		if err := dec.Decode(&s); err != nil {
			return
		}
		if time.Duration(s.CPUStats.CPUUsage.TotalUsage) > limit {
			over()
			return
		}
	}
}
