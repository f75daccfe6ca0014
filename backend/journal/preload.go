package journal

import (
	"context"
	"errors"
	"fmt"

	"github.com/ingo-grader/ingo/backend"
)

// A standby that sees the active backend go silent reads the journal
// before it holds the lease (Preload), so that a takeover after a crash
// does not add the replay to the dead lease's expiry. Reading is all it
// does: nothing is written, carried or purged before Replay. Replay then
// reads only what was stored since, which is nothing when the previous
// backend is dead.
//
// Appended records are read in order by the catch-up. Removed ones
// cannot be: a purge (the previous backend compacting the jobs it
// forgot) or MaxAge may have taken records the preload applied, and the
// preloaded state would keep jobs the journal no longer has. So a catch-up
// that finds the stream's first sequence moved past where the preload
// started refuses with backend.ErrPreloadStale, and the caller replays
// from scratch.

// preloadMark is where the stream stood when Preload read it.
type preloadMark struct {
	first uint64 // the first sequence held, or the next one when empty
	last  uint64 // the last sequence read
}

// markOf is the preload mark of a stream state.
func markOf(first, last, msgs uint64) *preloadMark {
	if msgs == 0 {
		first = last + 1
	}
	return &preloadMark{first: first, last: last}
}

// Preload applies every stored transition, as Replay does, but starts
// neither the compactor nor anything else: the backend may not hold the
// lease yet. Call Replay once it does; call it at most once, before
// Replay. Ending ctx stops it with an error; the journal is then only
// good for Close.
func (j *Journal) Preload(ctx context.Context, apply func(backend.Transition)) error {
	if j.preloaded != nil {
		return errors.New("journal: preloaded twice")
	}
	state, err := j.replay(ctx, 0, apply)
	if err != nil {
		return err
	}
	// What replay read ends at the state's LastSeq: anything after it is
	// read by the catch-up.
	j.preloaded = markOf(state.FirstSeq, state.LastSeq, state.Msgs)
	return nil
}

// catchUpFrom checks that nothing the preload read was removed since,
// and returns the sequence the catch-up reads from.
func (j *Journal) catchUpFrom(p *preloadMark) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), j.opts.Timeout)
	defer cancel()
	info, err := j.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("journal: stream info: %w", err)
	}
	now := markOf(info.State.FirstSeq, info.State.LastSeq, info.State.Msgs)
	if now.first > p.first || now.last < p.last {
		return 0, fmt.Errorf("%w: the stream held sequences %d to %d when preloaded, now %d to %d",
			backend.ErrPreloadStale, p.first, p.last, now.first, now.last)
	}
	return p.last + 1, nil
}
