package backend

import (
	"context"
	"errors"
	"fmt"
)

// ErrPreloadStale: the journal lost records that a Preload applied (the
// previous backend compacted it meanwhile), so the preloaded state is not
// the journal's. Run returns it before serving anything; the caller starts
// over with a new Backend and a new journal.
var ErrPreloadStale = errors.New("backend: the preloaded state is stale")

// Preloader is implemented by a Replayer that can be read ahead of Run,
// while this process does not hold the lease yet: Preload applies what is
// stored, as Replay would, without writing anything. The Replay that
// follows applies only what was stored since, or fails with
// ErrPreloadStale.
type Preloader interface {
	Replayer
	Preload(ctx context.Context, apply func(Transition)) error
}

// Preload rebuilds the state from the journal ahead of Run, so that a
// standby taking over from a dead backend has its replay done while the
// lease expires. It sends and stores nothing; Run then catches up with
// what was stored since. Call it at most once, before Run, from the
// goroutine that will call Run or one that hands the backend to it. A
// journal that cannot be preloaded makes it a no-op. Ending ctx stops it
// with an error (a process stopping while it stands by); the backend is
// then not to be run.
func (b *Backend) Preload(ctx context.Context) error {
	p, ok := b.cfg.Journal.(Preloader)
	if !ok {
		return nil
	}
	if b.preload.done {
		return errors.New("backend: preloaded twice")
	}
	n := 0
	if err := p.Preload(ctx, func(t Transition) { n++; b.replayApply(t) }); err != nil {
		return fmt.Errorf("preload the journal: %w", err)
	}
	b.preload.done, b.preload.applied = true, n
	b.log.Info("journal preloaded", "transitions", n, "waiting", b.queues.waiting)
	return nil
}
