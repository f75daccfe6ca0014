package docker

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/ingo-grader/ingo/containers/helper/contract"
	"github.com/ingo-grader/ingo/messages"
)

// LabelPool marks the containers and volumes of the warm pool; its value
// is a token of its own per container (see "Warm pool").
const LabelPool = "io.ingo.pool"

// Defaults of PoolOptions (DefaultOptions).
const DefaultPoolSize = 2

// DefaultPoolEnvironments are the environments with a warm pool in an
// agent nobody configured: ingo/env-default's.
var DefaultPoolEnvironments = []string{"default"}

// PoolOptions configure the warm pool: started, locked-down containers
// waiting for a job (see "Warm pool" in the package doc).
type PoolOptions struct {
	// Size is how many idle containers each environment keeps; 0: none.
	Size int `key:"size" check:"nonneg" help:"idle started containers each pool environment keeps waiting for a job (0: no pool; every job starts its container cold)"`
	// Environments are the names (type docker) that keep a pool. A job of
	// an alias uses its image's.
	Environments []string `key:"environments" help:"environments (names of type docker) that keep a warm pool; a job of an alias uses the pool of its image"`
	// Limits are what the pool's containers are made for first: a job
	// takes one only when its memory, processes, output and disk limits
	// are the pool's (its time limits are enforced after the start and
	// may differ), and the pool follows the limits jobs ask (see "Warm
	// pool"). cmd/ingo gives the agent's default limits. Zero: those of
	// the first job that could have used the pool.
	Limits messages.Limits `key:"-"`
}

// PoolStats count what the warm pool did.
type PoolStats struct {
	Hits      uint64 // jobs handed a warm container
	Misses    uint64 // jobs that could have used one but none was idle
	Bypassed  uint64 // jobs the pool is not for (SSH, debug, network, limits, input)
	Made      uint64 // containers the pool started
	Discarded uint64 // idle ones removed: died, stale image, new owner, new limits, close
	Reshaped  uint64 // times the pool followed the limits jobs ask (follow)
	Idle      int    // idle now
}

// owner is whose a pool container is: it carries the labels of the
// agent's installation and session, as a cold one does.
type owner struct{ installation, session string }

// warm is one container of the pool.
type warm struct {
	token string // the value of its LabelPool
	env   string
	image string
	shape messages.Limits
	owner owner
	c     running // id, volume, OOM watch, attach, output; undo removes it
	dead  bool    // it stopped, lost its stream or had an OOM kill (pool.mu)
}

// pool is the runtime's warm pool; nil when Options.Pool.Size is 0.
type pool struct {
	r    *Runtime
	size int
	envs []string

	mu     sync.Mutex
	shape  messages.Limits // shapeOf the limits its containers are made for
	shaped bool
	// other and otherRun: the shape the last eligible jobs asked when
	// not the pool's, and how many in a row (follow).
	other    messages.Limits
	otherRun int
	reshaped time.Time // the last change (follow)
	own      owner
	owned    bool // own is known: learnt from Cleanup or a job
	closed   bool
	idle     []*warm
	known    map[string]bool // tokens of containers not yet removed
	stats    PoolStats
	backoff  time.Duration

	wake chan struct{} // buffered 1: the refill loop has work
	stop context.CancelFunc
	done chan struct{} // the refill loop ended
	// wg counts the idle containers' watchers and the removals of
	// discarded ones: close waits for them.
	wg sync.WaitGroup
}

func newPool(r *Runtime, o PoolOptions) *pool {
	if o.Size <= 0 || len(o.Environments) == 0 {
		return nil
	}
	ctx, stop := context.WithCancel(context.Background())
	p := &pool{
		r: r, size: o.Size, envs: o.Environments,
		known: map[string]bool{},
		wake:  make(chan struct{}, 1), stop: stop, done: make(chan struct{}),
	}
	if s := shapeOf(o.Limits); s != (messages.Limits{}) {
		p.shape, p.shaped = s, true
	}
	go p.run(ctx)
	return p
}

// shapeOf keeps the limits a grading container is made of: memory,
// processes, output and disk. Time and HardTime are the runtime's, from
// the hand-over on.
func shapeOf(l messages.Limits) messages.Limits {
	return messages.Limits{Memory: l.Memory, Processes: l.Processes, Output: l.Output, Disk: l.Disk}
}

// kick wakes the refill loop without blocking.
func (p *pool) kick() {
	if p == nil {
		return
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// setOwner learns whose containers the pool makes (the agent's
// installation and session, from Cleanup and from jobs). Idle ones of
// another owner go: their labels would be wrong.
func (p *pool) setOwner(o owner) {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.owned && p.own == o {
		p.mu.Unlock()
		return
	}
	p.own, p.owned = o, true
	stale := p.takeIdle(func(w *warm) bool { return w.owner != o })
	p.mu.Unlock()
	p.discard(stale, "new owner")
	p.kick()
}

// eligible says whether attempt a may run in a warm container: the
// container of its cold start must be the pool's (no SSH, no network, no
// course files, an input within the room every container has) and
// neither SSH nor debug (whose jobs want a container of their own).
func eligible(a *attempt) bool {
	d := a.job.Desc
	return !a.ssh && d.Debug == messages.DebugOff && !d.EnvironmentParameters.NetworkGrading &&
		a.commonLen == 0 && a.inputLen <= inputRoomBytes
}

// launchWarm hands attempt a a warm container into c when one fits; false:
// none did, and c is untouched (the job starts cold).
func (r *Runtime) launchWarm(ctx context.Context, a *attempt, c *running) (bool, error) {
	p := r.pool
	if p == nil {
		return false, nil
	}
	p.setOwner(owner{a.job.Installation, a.job.Session})
	w := p.take(ctx, a)
	if w == nil {
		return false, nil
	}
	*c = w.c
	c.warm = true
	// Once it is removed, Cleanup may forget it (a failed removal is then
	// a leftover of its own session that Cleanup removes).
	c.undo = append([]func(){func() { p.forget(w.token) }}, c.undo...)
	r.log.Debug("job handed a warm container", "container", c.id, "job", a.job.ID())
	return true, r.handOver(ctx, a, c, c.pid)
}

// take removes from the pool an idle container for attempt a, alive
// (inspected now: running, same image), or returns nil. Dead ones met
// are discarded.
func (p *pool) take(ctx context.Context, a *attempt) *warm {
	shape := shapeOf(a.job.Limits)
	o := owner{a.job.Installation, a.job.Session}
	p.mu.Lock()
	if !eligible(a) {
		p.stats.Bypassed++
		p.mu.Unlock()
		return nil
	}
	if !p.shaped {
		// The first job that could have used the pool gives its limits.
		p.shape, p.shaped = shape, true
		p.kick()
	}
	if shape != p.shape {
		p.stats.Bypassed++
		stale := p.follow(shape)
		p.mu.Unlock()
		if stale != nil {
			p.discard(stale, "jobs now ask other limits")
			p.kick()
		}
		return nil
	}
	p.otherRun = 0
	for {
		var w *warm
		for i, x := range p.idle {
			if x.image == a.image && x.owner == o && !x.dead {
				w = x
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				break
			}
		}
		if w == nil {
			p.stats.Misses++
			p.mu.Unlock()
			p.kick()
			return nil
		}
		p.mu.Unlock()
		if pid := p.alive(ctx, w); pid > 0 {
			w.c.pid = pid
			p.mu.Lock()
			p.stats.Hits++
			p.backoff = 0
			p.mu.Unlock()
			p.kick()
			return w
		}
		p.bump()
		p.discard([]*warm{w}, "not running when taken")
		p.mu.Lock()
	}
}

// shapeFollowAfter is how many eligible jobs in a row asking the same
// other limits make the pool follow them. Tasks set their own limits
// (INGInious' default memory is 100 MB, not an agent's default): at a
// deadline most jobs are of a few tasks, and a pool made for limits no
// job asks would serve none. More than one, so that jobs of two shapes
// taking turns do not have the pool remade for each.
const shapeFollowAfter = 3

// shapeFollowEvery is the least time between two changes of the pool's
// limits: a frontend's jobs taking turns in runs of three would otherwise
// have the idle containers remade every third job, each change a few
// containers made for nothing.
const shapeFollowEvery = time.Minute

// follow notes an eligible job asking limits of another shape and, the
// shapeFollowAfter-th in a row (and shapeFollowEvery after the last
// change at least), makes the pool's containers for those from now on: it returns the idle containers of the old shape, to
// discard (nil otherwise). Called with p.mu held.
func (p *pool) follow(shape messages.Limits) []*warm {
	if shape != p.other {
		p.other, p.otherRun = shape, 0
	}
	if p.otherRun++; p.otherRun < shapeFollowAfter || !p.reshaped.IsZero() && time.Since(p.reshaped) < shapeFollowEvery {
		return nil
	}
	p.reshaped = time.Now()
	p.r.log.Info("warm pool: made from now on for the limits recent jobs ask", "memory_mb", shape.Memory,
		"processes", shape.Processes, "output_bytes", shape.Output, "disk_mb", shape.Disk)
	p.shape, p.other, p.otherRun = shape, messages.Limits{}, 0
	p.stats.Reshaped++
	return p.takeIdle(func(*warm) bool { return true })
}

// alive inspects a container taken from the pool: its init process's pid
// when it still runs the image it was made of, is not paused and its
// watcher saw nothing wrong, else 0. A paused container (docker pause by
// someone on the shared host) reads Running, but its processes are
// frozen: a job handed it would end as the student's timeout.
func (p *pool) alive(ctx context.Context, w *warm) int {
	actx, cancel := p.r.apiCtx(context.WithoutCancel(ctx))
	defer cancel()
	ins, err := p.r.api.ContainerInspect(actx, w.c.id)
	if err != nil || ins.State == nil || !ins.State.Running || ins.State.Paused || ins.State.Restarting || ins.Image != w.image {
		return 0
	}
	p.mu.Lock()
	dead := w.dead
	p.mu.Unlock()
	if dead {
		return 0
	}
	return ins.State.Pid
}

// takeIdle removes from the idle list those f picks (p.mu held).
func (p *pool) takeIdle(f func(*warm) bool) []*warm {
	var out []*warm
	kept := p.idle[:0]
	for _, w := range p.idle {
		if f(w) {
			out = append(out, w)
		} else {
			kept = append(kept, w)
		}
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	return out
}

// discard removes containers already out of the idle list, in the
// background (close waits for it).
func (p *pool) discard(ws []*warm, why string) {
	if len(ws) == 0 {
		return
	}
	p.mu.Lock()
	p.stats.Discarded += uint64(len(ws))
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		for _, w := range ws {
			p.r.log.Debug("warm container discarded", "container", w.c.id, "why", why)
			p.remove(w)
		}
	}()
}

// remove removes a pool container (never handed a job) and forgets it.
func (p *pool) remove(w *warm) {
	w.c.close()
	p.forget(w.token)
}

// forget: the container of token is removed (or Cleanup's to remove).
func (p *pool) forget(token string) {
	p.mu.Lock()
	delete(p.known, token)
	p.mu.Unlock()
}

// watch follows an idle container until it stops: one that stops, loses
// its attach stream or has an OOM kill while idle is dead, and discarded
// if still idle. It is the only reader of the container's wait, which it
// passes on to whoever took the container (att.exited, att.waitErr).
func (p *pool) watch(w *warm, exited <-chan container.WaitResponse, waitErr <-chan error, fwdExit chan<- container.WaitResponse, fwdErr chan<- error) {
	defer p.wg.Done()
	ended, hit := w.c.att.ended, w.c.oom.hit
	for {
		select {
		case x := <-exited:
			fwdExit <- x
			p.died(w, "stopped")
			return
		case err := <-waitErr:
			fwdErr <- err
			p.died(w, "wait broke")
			return
		case <-ended:
			ended = nil
			p.died(w, "attach stream ended")
		case <-hit:
			hit = nil
			p.died(w, "OOM kill while idle")
		}
	}
}

// died marks w dead and discards it when it is idle.
func (p *pool) died(w *warm, why string) {
	p.mu.Lock()
	w.dead = true
	gone := p.takeIdle(func(x *warm) bool { return x == w })
	closed := p.closed
	p.mu.Unlock()
	if closed || len(gone) == 0 {
		return // close removes the idle ones itself; a taken one is its job's
	}
	// A container that dies idle may be an image that cannot run: the
	// refill backs off rather than remake it in a tight loop.
	p.r.log.Warn("warm pool: an idle container died; it is discarded", "container", w.c.id, "why", why, "retry_in", p.bump())
	p.discard(gone, why)
	p.kick()
}

// isKnown says whether the pool container of token is still this
// runtime's (being made, idle, running a job, or being removed): Cleanup
// leaves those alone.
func (p *pool) isKnown(token string) bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.known[token]
}

// PoolStats returns the warm pool's counts (zero without a pool).
func (r *Runtime) PoolStats() PoolStats {
	p := r.pool
	if p == nil {
		return PoolStats{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Idle = len(p.idle)
	return s
}

// newToken is a pool container's label value.
func newToken() string { return strings.ToLower(rand.Text()[:16]) }

// poolSpec is the container of the pool for an environment's image: a
// cold start's for a job with the pool's limits, an input within
// inputRoomBytes, no course files and no network.
func (p *pool) spec(image string, shape messages.Limits, o owner, token string) containerSpec {
	return containerSpec{
		image: image, limits: shape, maxResult: contract.MaxResultBytes(shape.Output),
		labels: map[string]string{
			LabelAgent:        p.r.opts.AgentID,
			LabelInstallation: o.installation,
			LabelSession:      o.session,
			LabelPool:         token,
		},
	}
}
