package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/backend/journal"
	"github.com/ingo-grader/ingo/backend/leader"
)

// A backend restarted after a crash (or a standby whose active backend
// died) waits for the dead one's lease to expire, then replays the
// journal: at a deadline's million waiting jobs, seconds of each. The
// warm standby overlaps them: while the process campaigns, it watches the
// lease, and once the holder misses a renewal (or nobody holds it) it
// reads the journal into a backend (backend.Preload). The backend that
// wins the lease then only catches up with what was stored since.
//
// Safety does not rest on the guess: a preload writes nothing, and the
// catch-up refuses (backend.ErrPreloadStale) when the journal lost records
// since, which is what a live backend's compaction does; the winner then
// replays from scratch, as without a preload. A holder that was only slow
// and renews again makes the preload go at once, so that a standby does
// not hold a second copy of the state while the active backend lives.

// preloaded is a backend read ahead of its lease, with its journal.
type preloaded struct {
	b *backend.Backend
	j *journal.Journal
}

func (p *preloaded) close() {
	if p != nil {
		p.j.Close()
	}
}

// warmStandby watches the lease and preloads a backend; take ends it.
type warmStandby struct {
	log   *slog.Logger
	el    *leader.Elector
	build func() (*preloaded, error) // opens a journal, makes a backend
	stop  chan struct{}
	done  chan struct{}
	ready *preloaded // written by the watch before done closes
}

// startWarmStandby starts watching; it preloads at most once per watch.
func startWarmStandby(ctx context.Context, log *slog.Logger, el *leader.Elector, build func() (*preloaded, error)) *warmStandby {
	w := &warmStandby{log: log, el: el, build: build, stop: make(chan struct{}), done: make(chan struct{})}
	go w.watch(ctx)
	return w
}

// take stops the watch and returns the preloaded backend, nil when there
// is none: a preload under way is waited for, since it is further along
// than a replay started now would be.
func (w *warmStandby) take() *preloaded {
	close(w.stop)
	<-w.done
	return w.ready
}

// watch polls the key until take or ctx. The holder's silence is read on
// this host's clock from the server's stamp of its last renewal, which a
// restart right after a crash needs (it never saw the holder renew); once
// a preload proved that guess wrong (the holder renewed), only what this
// process saw itself counts: a revision unchanged for MissedRenewal.
func (w *warmStandby) watch(ctx context.Context) {
	defer close(w.done)
	tick := time.NewTicker(w.el.Poll())
	defer tick.Stop()
	var (
		rev        uint64
		revSince   time.Time
		trustClock = true
		failed     bool
	)
	for {
		sctx, cancel := context.WithTimeout(ctx, w.el.Poll()*4)
		s, err := w.el.Silence(sctx)
		cancel()
		if err == nil {
			if rev != s.Revision || revSince.IsZero() {
				// What no candidate wrote (leader.UnknownHolder) moves the
				// revision too, but says nothing of the holder.
				if w.ready != nil && s.Holder != "" && s.Holder != leader.UnknownHolder && s.Holder != w.el.ID() {
					w.log.Info("the active backend renewed its lease: the preloaded state goes", "holder", s.Holder)
					w.ready.close()
					w.ready, trustClock = nil, false
				}
				rev, revSince = s.Revision, time.Now()
			}
			silent := s.Holder == "" || time.Since(revSince) >= w.el.MissedRenewal() ||
				(trustClock && s.For >= w.el.MissedRenewal())
			if silent && w.ready == nil && !failed && s.Holder != w.el.ID() {
				w.log.Info("the lease's holder is silent: preloading the journal while the lease expires", "holder", s.Holder, "silent_for", s.For.Round(time.Millisecond))
				w.ready = w.preload(ctx)
				failed = w.ready == nil
			}
		}
		select {
		case <-w.stop:
			return
		case <-ctx.Done():
			w.ready.close()
			w.ready = nil
			return
		case <-tick.C:
		}
	}
}

// preload builds a backend and preloads it; nil when either failed.
func (w *warmStandby) preload(ctx context.Context) *preloaded {
	p, err := w.build()
	if err == nil {
		if err = p.b.Preload(ctx); err != nil {
			p.close()
		}
	}
	if err != nil {
		if ctx.Err() == nil { // not the process stopping
			w.log.Warn("preloading the journal failed; the replay waits for the lease", "err", err)
		}
		return nil
	}
	return p
}
