package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procCounts are counts a process's threads add up as it works, which
// say what a job cost it in system calls and scheduling whatever else
// runs on the machine: CPU time on a loaded machine grows with the load
// (caches, spinning), these do not.
type procCounts struct {
	syscalls int64 // read and write system calls (/proc/PID/io syscr + syscw)
	switches int64 // context switches, voluntary or not, of its threads alive now
}

func (c procCounts) sub(d procCounts) procCounts {
	return procCounts{syscalls: c.syscalls - d.syscalls, switches: c.switches - d.switches}
}

func (c procCounts) add(d procCounts) procCounts {
	return procCounts{syscalls: c.syscalls + d.syscalls, switches: c.switches + d.switches}
}

// perJob formats c divided among jobs.
func (c procCounts) perJob(jobs int) string {
	return fmt.Sprintf("%.2f syscalls, %.2f switches", float64(c.syscalls)/float64(jobs), float64(c.switches)/float64(jobs))
}

// readCounts reads pid's counts from /proc; zero where there is none. Go
// seldom ends a thread, so the switches of threads gone are few.
func readCounts(pid int) procCounts {
	var c procCounts
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
		for l := range strings.Lines(string(b)) {
			k, v, _ := strings.Cut(strings.TrimSpace(l), ": ")
			if k == "syscr" || k == "syscw" {
				n, _ := strconv.ParseInt(v, 10, 64)
				c.syscalls += n
			}
		}
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended meanwhile
		}
		for l := range strings.Lines(string(b)) {
			k, v, _ := strings.Cut(l, ":")
			if k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches" {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				c.switches += n
			}
		}
	}
	return c
}
