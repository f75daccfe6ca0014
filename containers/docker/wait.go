package docker

import (
	"context"
	"time"

	"github.com/docker/docker/errdefs"
)

// verdict is what the runtime decided about a container while it ran.
type verdict int

const (
	verdictNone verdict = iota
	verdictCPU          // killed: its CPU time was used
	verdictHard         // killed: its wall time came
)

// stopped is how waitStopped ended.
type stopped struct {
	exit    int64   // the exit status; -1 when unknown
	verdict verdict // a limit the runtime killed it over
	ended   bool    // ctx ended first: the container was killed
}

// waitStopped is the wait/kill/limit loop of grading and student
// containers: it waits until container id (att) stops, and kills it when
// its CPU time is used (cpu seconds, 0: no limit), when its wall time
// comes (wall seconds, 0: none), when kill closes (an OOM kill seen, a
// caller gone; nil: never), or when ctx ends, and then returns at once
// with ended set. A broken wait falls back to inspecting. m (nil: not
// wanted) gets what the container used while it ran. The "die" event of
// die (the container's OOM watch; nil: none) ends the wait as the wait's
// answer does, and earlier: the daemon sends the event once it marked the
// container stopped, but answers the wait only after its cleanup (the
// rootfs unmounted and the like, 15-20 ms on fuse-overlayfs).
func (r *Runtime) waitStopped(ctx context.Context, id string, att *attached, m *meter, cpu, wall float64, kill <-chan struct{}, die *oomWatch) stopped {
	lw := r.watchLimits(ctx, id, m, cpu, wall)
	defer lw.stop()
	over, hard := lw.over, lw.hard
	var died <-chan struct{}
	if die != nil {
		died = die.exited
	}
	s := stopped{exit: -1}
	for {
		select {
		case w := <-att.exited:
			s.exit = w.StatusCode
			return s
		case <-died:
			s.exit = die.exitCode
			return s
		case err := <-att.waitErr:
			// The wait broke (daemon restart?): fall back to inspecting.
			r.log.Warn("container wait failed", "container", id, "err", err)
			s.exit = r.waitInspect(ctx, id)
			return s
		case <-ctx.Done():
			r.kill(id)
			s.ended = true
			return s
		case <-kill:
			r.kill(id)
			kill = nil
		case <-over:
			s.verdict = verdictCPU
			r.kill(id)
			over = nil
		case <-hard:
			if s.verdict == verdictNone {
				s.verdict = verdictHard
			}
			r.kill(id)
			hard = nil
		}
	}
}

// kill sends SIGKILL; a container already stopped or gone is fine.
func (r *Runtime) kill(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := r.api.ContainerKill(ctx, id, "KILL"); err != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) {
		r.log.Debug("kill container", "container", id, "err", err)
	}
}

// waitInspect polls the container until it stops (after a broken wait) and
// returns its exit code, or kills it when ctx ends.
func (r *Runtime) waitInspect(ctx context.Context, id string) int64 {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		actx, cancel := r.apiCtx(context.WithoutCancel(ctx))
		ins, err := r.api.ContainerInspect(actx, id)
		cancel()
		if err != nil || ins.State == nil || !ins.State.Running {
			if err == nil && ins.State != nil {
				return int64(ins.State.ExitCode)
			}
			return -1
		}
		select {
		case <-ctx.Done():
			r.kill(id)
			return -1
		case <-t.C:
		}
	}
}
