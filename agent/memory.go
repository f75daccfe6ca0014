package agent

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ingo-grader/ingo/containers"
)

// admit waits until an attempt's memory limit fits in what the agent was
// given, so that the limits of running attempts never add up to more than
// the machine has (INGInious divides memory by slots instead, #1073). The
// wait is FIFO and ends early when the attempt is killed or the agent stops.
func (a *Agent) admit(ctx context.Context, mib int64) (release func(), err error) {
	if a.memory == nil || mib <= 0 {
		return func() {}, nil
	}
	if mib > a.cfg.Memory {
		return nil, &containers.Failure{Public: fmt.Sprintf(
			"The job asks for %d MiB of memory; this agent has %d MiB for jobs.", mib, a.cfg.Memory)}
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
