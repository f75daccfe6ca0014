package helper

import (
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ingo-grader/ingo/containers/helper/contract"
)

// ownCgroupFiles are where this container's file of a cgroup controller
// may be, read from inside it (v1File under cgroup v1, v2File under v2):
// first in the cgroup /proc/self/cgroup names below the mount (a container
// sharing the host's cgroup namespace, where the mount shows the whole
// tree), then at the mount's own top (a private namespace, and cgroup v1,
// where Docker mounts the container's own cgroup of each controller
// there).
func ownCgroupFiles(root, controller, v1File, v2File string) []string {
	const mount = "/sys/fs/cgroup"
	var files []string
	b, _ := os.ReadFile(root + "/proc/self/cgroup")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		switch {
		case len(f) != 3 || f[2] == "/":
		case f[0] == "0" && f[1] == "":
			files = append(files, root+mount+f[2]+"/"+v2File)
		case slices.Contains(strings.Split(f[1], ","), controller):
			files = append(files, root+mount+"/"+controller+f[2]+"/"+v1File)
		}
	}
	return append(files, root+mount+"/"+controller+"/"+v1File, root+mount+"/"+v2File)
}

// oomCounter reads this container's count of OOM kills in its memory
// cgroup, from inside it.
//
// A student container's helper asks it when the command died of SIGKILL
// (or said 137, a shell whose child did): the kernel counts an OOM kill
// before it sends the victim its signal, so the count is already there,
// where the daemon's OOMKilled flag may come seconds later on a loaded
// machine. The container's memory may still be full then (files in its
// tmpfs mounts, which no kill frees), and a helper that needs a page then
// is the next victim (its container ends 137, not 252). So the file is
// opened and read once before the command starts, which leaves the
// kernel's buffer for it allocated, and read again into the same buffer
// of ours, parsed without allocating: reading the count asks for no
// memory, though the helper's reclaimable code pages still may.
type oomCounter struct {
	f   *os.File
	buf [512]byte
}

// openOOMCounter finds the count's file; nil when none is readable (no
// cgroup mounted, or a kernel before 4.13 without the count).
func openOOMCounter(root string) *oomCounter {
	for _, name := range ownCgroupFiles(root, "memory", "memory.oom_control", "memory.events") {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		c := &oomCounter{f: f}
		if c.kills() >= 0 {
			return c
		}
		_ = f.Close()
	}
	return nil
}

// kills is the count now, -1 when it cannot be read.
func (c *oomCounter) kills() int64 {
	if c == nil {
		return -1
	}
	n, err := c.f.ReadAt(c.buf[:], 0)
	if n == 0 || (err != nil && !errors.Is(err, io.EOF)) {
		return -1
	}
	v, err := contract.ParseOOMKills(c.buf[:n])
	if err != nil {
		return -1
	}
	return v
}

// pidsMax is the container's process limit, 0 when it has none or it
// cannot be read.
func pidsMax(root string) int {
	for _, f := range ownCgroupFiles(root, "pids", "pids.max", "pids.max") {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return 0 // "max"
		}
		return n
	}
	return 0
}
