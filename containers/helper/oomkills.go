package helper

import (
	"os"
	"slices"
	"strconv"
	"strings"
)

// ownOOMKills is the count of OOM kills in this container's memory cgroup,
// read from inside it; -1 when none is readable (no cgroup mounted).
//
// A student container's helper asks it when the command died of SIGKILL
// (or said 137, a shell whose child did): the kernel counts an OOM kill
// before it sends the victim its signal, so the count is already there,
// where the daemon's OOMKilled flag may come seconds later on a loaded
// machine.
func ownOOMKills(root string) int64 {
	for _, f := range ownOOMFiles(root) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if n, ok := oomKillLine(string(b)); ok {
			return n
		}
	}
	return -1
}

// ownOOMFiles are where this container's counter may be, first the cgroup
// /proc/self/cgroup names below the mount (a container sharing the host's
// cgroup namespace, where the mount shows the whole tree), then the
// mount's own top (a private namespace, and cgroup v1, where Docker mounts
// the container's own memory cgroup there). cgroup v1 keeps the count in
// memory.oom_control, v2 in memory.events.
func ownOOMFiles(root string) []string {
	const mount = "/sys/fs/cgroup"
	var files []string
	b, _ := os.ReadFile(root + "/proc/self/cgroup")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		switch {
		case len(f) != 3 || f[2] == "/":
		case f[0] == "0" && f[1] == "":
			files = append(files, root+mount+f[2]+"/memory.events")
		case slices.Contains(strings.Split(f[1], ","), "memory"):
			files = append(files, root+mount+"/memory"+f[2]+"/memory.oom_control")
		}
	}
	return append(files, root+mount+"/memory/memory.oom_control", root+mount+"/memory.events")
}

// oomKillLine finds the "oom_kill N" line of memory.oom_control or
// memory.events.
func oomKillLine(data string) (int64, bool) {
	for _, line := range strings.Split(data, "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
