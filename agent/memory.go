package agent

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// memoryAccounting is implemented by runtimes whose jobs hold more memory
// than Limits.Memory (containers/docker: JobMemory, which states its
// formula: the grading container with its in-memory disk, the student
// containers, their shared folder).
type memoryAccounting interface {
	JobMemory(messages.Limits) int64
}

// jobMemory is what an attempt with the limits l counts against the
// agent's memory (Config.Memory), in MiB: the runtime's JobMemory where it
// has one, else Limits.Memory. This is the one place admission sizes a job.
func (a *Agent) jobMemory(l messages.Limits) int64 {
	if m, ok := a.rt.(memoryAccounting); ok {
		return m.JobMemory(l)
	}
	return l.Memory
}

// admit waits until what an attempt with the limits l can hold
// (jobMemory) fits in what the agent was given, so that the memory of
// running attempts never adds up to more than the machine has (INGInious
// divides memory by slots instead, #1073). The wait is FIFO and ends early
// when the attempt is killed or the agent stops.
func (a *Agent) admit(ctx context.Context, l messages.Limits) (release func(), err error) {
	mib := a.jobMemory(l)
	if a.memory == nil || mib <= 0 {
		return func() {}, nil
	}
	if mib > a.cfg.Memory {
		text := fmt.Sprintf("The job asks for %d MiB of memory; this agent has %d MiB for jobs.", mib, a.cfg.Memory)
		if mib != l.Memory {
			text = fmt.Sprintf("The job needs %d MiB of memory (for its memory limit of %d MiB, with its files and student containers); this agent has %d MiB for jobs.",
				mib, l.Memory, a.cfg.Memory)
		}
		return nil, &containers.Failure{Public: text, Requeue: true} // another agent may have more
	}
	if err := a.memory.Acquire(ctx, mib); err != nil {
		return nil, fmt.Errorf("waiting for %d MiB of memory: %w", mib, context.Cause(ctx))
	}
	a.stats.memoryInUse.Add(mib)
	return func() {
		a.stats.memoryInUse.Add(-mib)
		a.memory.Release(mib)
	}, nil
}

// machineMemory is MemTotal in MiB, or -1 (no bound) when unknown.
func machineMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kib, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				return kib / 1024
			}
		}
	}
	return -1
}
