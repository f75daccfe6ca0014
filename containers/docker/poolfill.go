package docker

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/ingo-grader/ingo/messages"
)

// Bounds of the refill loop: how often it looks whether cold starts are
// still under way, and its backoff after a failed fill.
const (
	poolYieldPoll  = 20 * time.Millisecond
	poolMinBackoff = 500 * time.Millisecond
	poolMaxBackoff = 30 * time.Second
)

// run is the refill loop: one container at a time, never while a cold
// start is under way, until the pool has Size idle containers of every
// environment's current image. It also drops idle containers whose image
// is no longer their environment's. It ends when stop is called.
func (p *pool) run(ctx context.Context) {
	defer close(p.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		for ctx.Err() == nil {
			env, image, ok := p.next(ctx)
			if !ok {
				break
			}
			if !p.pause(ctx) {
				return
			}
			if err := p.fill(ctx, env, image); err != nil {
				if ctx.Err() != nil {
					return
				}
				p.r.log.Warn("warm pool: a container could not be made; retrying", "environment", env, "err", err, "in", p.bump())
			}
		}
	}
}

// bump doubles the refill's backoff after a failure (a fill that failed,
// a container that died idle) and returns it; a hit resets it.
func (p *pool) bump() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backoff = min(max(2*p.backoff, poolMinBackoff), poolMaxBackoff)
	return p.backoff
}

// pause waits for the backoff, then for the cold starts under way; false
// when ctx ended meanwhile.
func (p *pool) pause(ctx context.Context) bool {
	p.mu.Lock()
	d := p.backoff
	p.mu.Unlock()
	if d > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
		}
	}
	return p.yield(ctx)
}

// yield waits while cold starts are under way (a job waits for each),
// false when ctx ended meanwhile.
func (p *pool) yield(ctx context.Context) bool {
	for p.r.launching.Load() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(poolYieldPoll):
		}
	}
	return ctx.Err() == nil
}

// next drops idle containers of stale images and picks an environment
// short of idle containers, with its current image; false when none is
// (or the pool does not know its owner or limits yet).
func (p *pool) next(ctx context.Context) (env, image string, ok bool) {
	p.mu.Lock()
	ready := p.owned && p.shaped && !p.closed
	p.mu.Unlock()
	if !ready {
		return "", "", false
	}
	envs, err := p.r.cachedEnvironments(ctx)
	if err != nil {
		p.r.log.Debug("warm pool: images not listed", "err", err)
		return "", "", false
	}
	images := map[string]string{}
	for _, e := range p.envs {
		if info, found := envs[EnvType][e]; found {
			images[e] = info.ID
		}
	}
	p.mu.Lock()
	stale := p.takeIdle(func(w *warm) bool { return images[w.env] != w.image })
	count := map[string]int{}
	for _, w := range p.idle {
		count[w.env]++
	}
	p.mu.Unlock()
	p.discard(stale, "its environment has another image now")
	for _, e := range p.envs {
		if images[e] != "" && count[e] < p.size {
			return e, images[e], true
		}
	}
	return "", "", false
}

// fill makes, starts and adds one idle container of env's image.
func (p *pool) fill(ctx context.Context, env, image string) error {
	p.mu.Lock()
	shape, o := p.shape, p.own
	token := newToken()
	// Known before it exists: a Cleanup listing it meanwhile leaves it.
	p.known[token] = true
	p.mu.Unlock()
	w := &warm{token: token, env: env, image: image, shape: shape, owner: o}
	if err := p.r.prepare(ctx, p.spec(image, shape, o, token), &w.c); err != nil {
		p.remove(w)
		return fmt.Errorf("warm container of %s: %w", env, err)
	}
	// The watcher alone reads the wait, and passes it on to the job.
	exited, waitErr := w.c.att.exited, w.c.att.waitErr
	fwdExit, fwdErr := make(chan container.WaitResponse, 1), make(chan error, 1)
	w.c.att.exited, w.c.att.waitErr = fwdExit, fwdErr
	p.mu.Lock()
	if p.closed || ctx.Err() != nil || p.own != o || p.shape != shape {
		p.mu.Unlock()
		p.remove(w)
		return nil
	}
	p.stats.Made++
	p.idle = append(p.idle, w)
	p.wg.Add(1)
	p.mu.Unlock()
	go p.watch(w, exited, waitErr, fwdExit, fwdErr)
	p.r.log.Debug("warm container ready", "container", w.c.id, "environment", env)
	return nil
}

// close stops the refill loop and removes the idle containers; Runtime
// Close calls it once every Run returned.
func (p *pool) close() {
	if p == nil {
		return
	}
	p.stop()
	<-p.done
	p.mu.Lock()
	p.closed = true
	idle := p.takeIdle(func(*warm) bool { return true })
	p.stats.Discarded += uint64(len(idle))
	p.mu.Unlock()
	for _, w := range idle {
		p.remove(w)
	}
	p.wg.Wait()
}

// setShape makes the pool's containers for limits l from now on (tests).
func (p *pool) setShape(l messages.Limits) {
	p.mu.Lock()
	changed := p.shape != shapeOf(l) || !p.shaped
	p.shape, p.shaped = shapeOf(l), true
	var stale []*warm
	if changed {
		stale = p.takeIdle(func(*warm) bool { return true })
	}
	p.mu.Unlock()
	p.discard(stale, "new limits")
	p.kick()
}
