package docker

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// usage is what the stopped grading container c and the student
// containers of its job used (messages.Usage). The wall time of a cold
// start is the daemon's, State.StartedAt to State.FinishedAt; a warm
// container started before its job, so its wall time is the agent's, from
// the hand-over to the wait's return. When the wait ended early (see
// stoppedEarly), both are the agent's, from the start's return (warm: the
// hand-over) to the result's arrival: a lower bound as the other figures
// are, short by the helper's exit, read when the CPU time and memory last
// were. nil when nothing is known.
func (r *Runtime) usage(ctx context.Context, c *running) *messages.Usage {
	u := &messages.Usage{}
	u.CPUTime, u.MemoryPeak = c.meter.figures()
	switch {
	case c.stoppedEarly():
		if at := c.ch.resultTime(); !c.started.IsZero() && at.After(c.started) {
			u.WallTime = at.Sub(c.started).Seconds()
		}
	case c.warm:
		// Not the collect's time (the OOM settle, the drain): the wait's.
		if !c.started.IsZero() && c.stopped.After(c.started) {
			u.WallTime = c.stopped.Sub(c.started).Seconds()
		}
	default:
		st := r.stoppedState(ctx, c)
		u.WallTime = wallSeconds(st.StartedAt, st.FinishedAt)
	}
	if c.ch != nil {
		u.Students = c.ch.studentUse.usage()
	}
	u = roundUsage(u)
	if *u == (messages.Usage{}) {
		return nil
	}
	return u
}

// wallTime is the seconds container id ran, from the daemon's
// State.StartedAt and FinishedAt; 0 (unknown) when the inspect fails or
// the container has not stopped.
func (r *Runtime) wallTime(ctx context.Context, id string) float64 {
	actx, cancel := r.apiCtx(context.WithoutCancel(ctx))
	defer cancel()
	ins, err := r.api.ContainerInspect(actx, id)
	if err != nil || ins.State == nil {
		return 0
	}
	return wallSeconds(ins.State.StartedAt, ins.State.FinishedAt)
}

// wallSeconds parses the daemon's RFC 3339 times; 0 when either is
// missing (Docker writes the zero time "0001-01-01T00:00:00Z" for a
// container not started or not stopped) or they are out of order.
func wallSeconds(started, finished string) float64 {
	s, err1 := time.Parse(time.RFC3339Nano, started)
	f, err2 := time.Parse(time.RFC3339Nano, finished)
	if err1 != nil || err2 != nil || s.Year() < 2000 || f.Year() < 2000 || f.Before(s) {
		return 0
	}
	return f.Sub(s).Seconds()
}

// studentUsage is what the stopped student container id used.
func (r *Runtime) studentUsage(ctx context.Context, id string, m *meter) containerUse {
	cpu, peak := m.figures()
	return containerUse{wall: r.wallTime(ctx, id), cpu: cpu, peak: peak}
}

// containerUse is one student container's figures (0: unknown).
type containerUse struct{ wall, cpu, peak float64 }

// studentTally sums the student containers of a job as they end.
type studentTally struct {
	mu  sync.Mutex
	n   int
	sum messages.StudentUsage
}

func (t *studentTally) add(u containerUse) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	t.sum.WallTime += u.wall
	t.sum.CPUTime += u.cpu
	t.sum.MemoryPeak = max(t.sum.MemoryPeak, u.peak)
}

// usage is the sum so far; nil when no student container ran.
func (t *studentTally) usage() *messages.StudentUsage {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		return nil
	}
	s := t.sum
	s.Containers = t.n
	return &s
}

// roundUsage keeps milliseconds and hundredths of MiB: more digits would
// claim a precision the reads do not have, and cost bytes on the wire.
func roundUsage(u *messages.Usage) *messages.Usage {
	ms := func(v float64) float64 { return math.Round(v*1000) / 1000 }
	cMiB := func(v float64) float64 { return math.Round(v*100) / 100 }
	u.WallTime, u.CPUTime, u.MemoryPeak = ms(u.WallTime), ms(u.CPUTime), cMiB(u.MemoryPeak)
	if s := u.Students; s != nil {
		s.WallTime, s.CPUTime, s.MemoryPeak = ms(s.WallTime), ms(s.CPUTime), cMiB(s.MemoryPeak)
	}
	return u
}
