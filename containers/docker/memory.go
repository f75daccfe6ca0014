package docker

import (
	"context"
	"fmt"

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

// JobMemory is the package's JobMemory: the agent asks its runtime.
func (r *Runtime) JobMemory(l messages.Limits) int64 { return JobMemory(l) }

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
