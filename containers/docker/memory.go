package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"golang.org/x/sync/semaphore"

	"github.com/ingo-grader/ingo/messages"
)

// helperMemory is the grading container's room for ingo's helper on top of
// Limits.Memory: its own process (a static Go binary, a few MiB resident,
// mostly its reclaimable text) and the channel's buffers. Fixed and small
// on purpose: everything else a job writes (the task files, the input,
// /tmp, /dev/shm) counts inside Limits.Memory, so this is all a grader
// may get over its limit.
const helperMemory = 8 << 20

// gradingMemory is the memory cgroup limit (and MemorySwap: no swap) of a
// grading container, in bytes; 0 means no limit.
func gradingMemory(l messages.Limits) int64 {
	if l.Memory <= 0 {
		return 0
	}
	return l.Memory<<20 + helperMemory
}

// JobMemory is what a job with the limits l can hold in memory at once, in
// MiB: the sum an agent's memory budget must count for it (agent.memory,
// see the agent's admission), 0 when l has no memory limit. With M =
// Limits.Memory:
//
//	JobMemory = (M + 8)            the grading container: its processes and
//	                               its tmpfs mounts, plus helperMemory
//	          + M                  the student containers running at once
//	                               (their limits share M, see studentBudget)
//	          + studentDirBytes    /task/student, min(disk, M), and its
//	          + its files' inodes  files' kernel memory (studentDirInodes
//	                               x inodeBytes, 12 to 48 MiB): what ended
//	                               student containers wrote there is
//	                               charged to no running container
//
// tmpfs pages are charged to the memory cgroup of the process that writes
// them and there is no swap, so each container's limit bounds its files
// too.
func JobMemory(l messages.Limits) int64 {
	if l.Memory <= 0 {
		return 0
	}
	return gradingMemory(l)>>20 + l.Memory + studentDirBytes(l)>>20 + studentDirInodes(l)*inodeBytes>>20
}

// JobMemory is the package's JobMemory, plus, on a cgroup v1 daemon, the
// TCP buffers its containers may hold apart from their memory limits
// (setMemory): a quarter of the grading container's and of the student
// containers' budget. The agent asks its runtime.
func (r *Runtime) JobMemory(l messages.Limits) int64 {
	m := JobMemory(l)
	if m > 0 && r.opts.cgroupV1 {
		m += (tcpMemory(gradingMemory(l)) + tcpMemory(l.Memory<<20)) >> 20
	}
	return m
}

// tcpMemory is the bound of the TCP buffers of a container whose memory
// limit is m bytes, on cgroup v1: a quarter of it, plenty for loopback
// servers and downloads (past it the kernel shrinks the container's
// buffers, as under global memory pressure).
func tcpMemory(m int64) int64 { return m / 4 }

// setMemory gives a container the memory limit m bytes, without swap,
// and asks, on a cgroup v1 daemon, for a bound of its TCP buffers
// (KernelMemoryTCP, which boundTCP makes sure of).
func (r *Runtime) setMemory(hc *container.HostConfig, m int64) {
	hc.Memory, hc.MemorySwap = m, m
	if r.opts.cgroupV1 {
		hc.KernelMemoryTCP = tcpMemory(m)
	}
}

// boundTCP bounds, on cgroup v1, the TCP buffers of the started container
// id whose memory limit is m bytes (UDP's too: once the file is written,
// every socket of the cgroup charges that counter). cgroup v1 charges
// them to no memory limit until memory.kmem.tcp.limit_in_bytes is written
// (cgroup v2 charges them to memory.max): a student's program that filled
// loopback connections held 560 MiB of the host's memory from a 64 MiB
// job, and could go on up to the host-wide tcp_mem (udp_mem), past which
// every socket of the host (the agent's NATS connection, other jobs') is
// starved. runc
// 1.1 and later ignore KernelMemoryTCP, so the agent writes the file
// itself, before any of the container's code but the helper runs
// (sockets made before are never charged): for a grading container before
// its files go in. It needs the host's cgroup tree, writable (an agent
// running as root); without, it says so once.
func (r *Runtime) boundTCP(id string, m int64) {
	if !r.opts.cgroupV1 || m <= 0 {
		return
	}
	time.Sleep(r.opts.tcpBoundLate)
	want := []byte(strconv.FormatInt(tcpMemory(m), 10))
	v1, _ := cgroupDirs(r.opts.cgroupRoot, id, 0, "memory")
	var err error = errors.New("no memory cgroup found")
	for _, dir := range v1 {
		f := filepath.Join(dir, "memory.kmem.tcp.limit_in_bytes")
		if _, serr := os.Stat(f); serr != nil {
			continue
		}
		if err = os.WriteFile(f, want, 0); err == nil {
			return
		}
		break
	}
	if r.tcpWarned.CompareAndSwap(false, true) {
		r.log.Warn("cannot bound the TCP buffers of grading containers (cgroup v1 counts them in no memory limit): run the agent as root with the host's /sys/fs/cgroup", "container", id, "err", err)
	}
}

// studentBudget is the memory the student containers of a job running at
// once share: Limits.Memory MiB (nil: no limit). A student container's
// cgroup allows exactly its own limit (the student helper only starts the
// command and waits), which it takes from the budget until it is removed.
func studentBudget(l messages.Limits) *semaphore.Weighted {
	if l.Memory <= 0 {
		return nil
	}
	return semaphore.NewWeighted(l.Memory)
}

// takeStudentMemory waits, first come first served, until mib MiB of the
// job's student budget are free, and returns their release. A call never
// asks for more than the budget (capLimit).
func (c *jobChannel) takeStudentMemory(mib int64) (release func(), err error) {
	b := c.studentMemory
	if b == nil || mib <= 0 {
		return func() {}, nil
	}
	if err := b.Acquire(c.ctx, mib); err != nil {
		return nil, fmt.Errorf("waiting for %d MiB of the job's memory: %w", mib, context.Cause(c.ctx))
	}
	return func() { b.Release(mib) }, nil
}
