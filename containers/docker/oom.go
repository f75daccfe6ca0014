package docker

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/ingo-grader/ingo/containers/helper/contract"
)

// oomSettleTimeout bounds the wait, once a grading container stopped, for
// the daemon's "die" event of it: the events sent before it (an "oom")
// are then delivered. An "oom" sent after it is readResult's to catch.
const oomSettleTimeout = 2 * time.Second

// oomWatch follows one grading container for an OOM kill of any of its
// processes (INGInious' rule: that makes the job overflow, even when the
// run file survives it), by two means besides State.OOMKilled, whose
// meaning depends on the daemon and its containerd: the daemon's "oom"
// events of the container, and its memory cgroup's oom_kill counter.
// Both name this container only: a student container has its own id and
// its own cgroup (a sibling, not a child), so its OOM kills stay its own.
type oomWatch struct {
	hit     chan struct{} // closed at the first OOM kill seen
	hitOnce sync.Once
	died    chan struct{} // closed when the "die" event came (or the stream failed)
	dieOnce sync.Once
	// exited is closed when the "die" event itself came (not a failed
	// stream); exitCode is then its exit status (-1: not given).
	exited   chan struct{}
	exitCode int64
	ctx      context.Context // ends with stop
	stop     context.CancelFunc
	// kills reads the cgroup's oom_kill counter (nil: none readable); set
	// by countKills at the hand-over, before the poll and the channel.
	kills func() (int64, error)
	// readAtResult: the counter was read when the result came (readResult),
	// so every OOM kill of the grading was seen by then.
	readAtResult atomic.Bool
}

// watchOOM starts watching the container id, created at created (events
// are asked from then on, so none is missed while the subscription is
// being made). stop ends the watch; it may be called more than once.
func (r *Runtime) watchOOM(ctx context.Context, id string, created time.Time) *oomWatch {
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	w := &oomWatch{hit: make(chan struct{}), died: make(chan struct{}), exited: make(chan struct{}), exitCode: -1, ctx: wctx, stop: stop}
	f := filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("container", id),
		filters.Arg("event", string(events.ActionOOM)),
		filters.Arg("event", string(events.ActionDie)),
	)
	// One second earlier: Since has a resolution of a second.
	since := strconv.FormatInt(created.Add(-time.Second).Unix(), 10)
	msgs, errs := r.api.Events(wctx, events.ListOptions{Filters: f, Since: since})
	go func() {
		defer w.setDied()
		for {
			select {
			case m := <-msgs:
				switch m.Action {
				case events.ActionOOM:
					r.log.Debug("OOM event of the grading container", "container", id)
					w.setHit()
				case events.ActionDie:
					if code, err := strconv.ParseInt(m.Actor.Attributes["exitCode"], 10, 64); err == nil {
						w.exitCode = code
					}
					close(w.exited)
					return
				}
			case err := <-errs:
				if wctx.Err() == nil {
					r.log.Warn("container events: only the OOM counters tell an overflow", "container", id, "err", err)
				}
				return
			case <-wctx.Done():
				return
			}
		}
	}()
	return w
}

// countKills finds the container's oom_kill counter (pid is its init
// process; 0: unknown) for pollCgroup and readKills. Called once, before
// either runs.
func (w *oomWatch) countKills(r *Runtime, id string, pid int) {
	w.kills = cgroupOOMKills(r.opts.cgroupRoot, id, pid)
	if w.kills == nil {
		r.log.Debug("no memory cgroup counters readable; the OOM events and State.OOMKilled tell an overflow", "container", id)
	}
}

// pollCgroup reads the container's oom_kill counter every r.opts.CPUPoll
// until it is above 0 (then w is hit), the cgroup is gone (the container
// stopped) or w stops. Between the last read and the exit an OOM kill may
// go unread: readKills at the result and the events cover that.
func (r *Runtime) pollCgroup(w *oomWatch, id string) {
	if w.kills == nil {
		return
	}
	t := time.NewTicker(r.opts.CPUPoll)
	defer t.Stop()
	for {
		if err := w.readKills(); err != nil {
			return
		}
		select {
		case <-w.hit:
			r.log.Debug("OOM kill seen (cgroup counter or event) while the grading container runs", "container", id)
			return
		case <-w.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// readKills reads the oom_kill counter once (w.kills is set); above 0, w
// is hit.
func (w *oomWatch) readKills() error {
	n, err := w.kills()
	if err == nil && n > 0 {
		w.setHit()
	}
	return err
}

// readResult reads the counter when the result came, and notes a read
// that succeeded (readAtResult). The kernel counts an OOM kill before it
// sends the victim its SIGKILL, so a read once the run file ended (the
// result came, the helper still runs) sees every OOM kill of the grading:
// the "oom" event may come after the container's "die" on a loaded
// machine (seen in CI), too late to count.
func (w *oomWatch) readResult() {
	if w == nil || w.kills == nil {
		return
	}
	if w.readKills() == nil {
		w.readAtResult.Store(true)
	}
}

// dieSeen reports whether the "die" event came on the stream (see
// stoppedEarly for what that tells).
func (w *oomWatch) dieSeen() bool {
	select {
	case <-w.exited:
		return true
	default:
		return false
	}
}

func (w *oomWatch) setHit()  { w.hitOnce.Do(func() { close(w.hit) }) }
func (w *oomWatch) setDied() { w.dieOnce.Do(func() { close(w.died) }) }

// killed reports, once the container stopped, whether an OOM kill was
// seen: it waits (at most oomSettleTimeout) for the container's "die"
// event, since an "oom" may still be on its way when the wait returns.
func (w *oomWatch) killed() bool {
	select {
	case <-w.hit:
		return true
	default:
	}
	t := time.NewTimer(oomSettleTimeout)
	defer t.Stop()
	select {
	case <-w.died:
	case <-t.C:
	}
	select {
	case <-w.hit:
		return true
	default:
		return false
	}
}

// cgroupOOMKills finds the container's count of OOM kills: cgroup v1
// memory.oom_control "oom_kill" (kernel 4.13 and later) in the memory
// controller, cgroup v2 memory.events "oom_kill". The v2 count includes
// child cgroups; a container has none of its own (Docker puts every
// container, student ones too, beside the others). nil when none is
// readable (an agent without the host's cgroup tree).
func cgroupOOMKills(cgroupRoot, id string, pid int) func() (int64, error) {
	v1, v2 := cgroupDirs(cgroupRoot, id, pid, "memory")
	var files []string
	for _, d := range v1 {
		files = append(files, filepath.Join(d, "memory.oom_control"))
	}
	for _, d := range v2 {
		files = append(files, filepath.Join(d, "memory.events"))
	}
	return firstReadable(files, contract.ParseOOMKills)
}

// oomKilled reports whether the daemon marked the container OOMKilled.
func (r *Runtime) oomKilled(ctx context.Context, id string) bool {
	actx, cancel := r.apiCtx(context.WithoutCancel(ctx))
	defer cancel()
	ins, err := r.api.ContainerInspect(actx, id)
	if err != nil || ins.State == nil {
		return false
	}
	return ins.State.OOMKilled
}

// lateOOMWait bounds how long an exit by SIGKILL that nothing else
// explains waits for the daemon's word of an OOM kill, which may come
// after the exit: a student container's exit of 137 (a shell whose child
// was killed) or 247 (the command itself, run_student's 256-9), or a
// grading container that stopped by SIGKILL without a result (its helper
// was the OOM killer's victim). A student container's helper reads its
// cgroup's OOM kill count when its command ends so and then exits 252
// itself; the flag is asked for every other exit too (a command that
// outlived the OOM kill of one of its children), but waited for only on
// an exit the helper did not turn (the OOM killer took the helper, or it
// sees no cgroup). A second was not always enough for the flag: CI, with
// the other suites loading the machine, saw it come later. Only a
// container killed by SIGKILL without an OOM, and not by the agent over a
// limit, pays the wait.
const lateOOMWait = 3 * time.Second

// studentOOMKilled is oomKilled for a student container, whose exit code
// may come before the daemon has heard of the OOM kill of one of its
// processes (a shell whose child was killed exits 137 at once, and the
// daemon's OOMKilled flag follows its OOM event): an exit of 137 or 247
// is asked about again for up to lateOOMWait.
func (r *Runtime) studentOOMKilled(ctx context.Context, id string, exit int64) bool {
	if exit != 128+9 && exit != 256-9 {
		return r.oomKilled(ctx, id)
	}
	return r.awaitOOMKilled(ctx, id)
}

// awaitOOMKilled asks the daemon whether container id was OOM killed, every
// 100 ms for up to lateOOMWait or until ctx ends, until it says so. (The
// flag is the daemon's record of the "oom" event, which the grading
// container's watch no longer reads once the "die" came.)
func (r *Runtime) awaitOOMKilled(ctx context.Context, id string) bool {
	deadline := time.NewTimer(lateOOMWait)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if r.oomKilled(ctx, id) {
			return true
		}
		select {
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// initPid is the container's init process as the daemon sees it (0 when
// the inspect fails: the cgroup paths are then guessed from the id alone).
func (r *Runtime) initPid(ctx context.Context, id string) int {
	actx, cancel := r.apiCtx(context.WithoutCancel(ctx))
	defer cancel()
	ins, err := r.api.ContainerInspect(actx, id)
	if err != nil || ins.State == nil {
		return 0
	}
	return ins.State.Pid
}
