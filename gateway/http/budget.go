package api

import (
	"context"
	"sync"
	"time"
)

// uploadBudget shares Options.UploadMemory among the request bodies read
// at once. It replaced a FIFO semaphore, under which one frontend that
// announced a 64 MiB body reserved the whole budget and every other
// frontend's submission queued behind it, unanswered, for as long as that
// body took to arrive (docs/security.md: a frontend must not hurt the
// others). Now:
//
//   - one owner (a token's name, internal/httpserve's sense) holds at most
//     share of it at once, so others always find room;
//   - a waiting request is served as soon as it fits (first fit, not
//     first come): a small job never waits behind another's large upload;
//   - a request waits at most wait, then gets 503 with Retry-After, rather
//     than queueing for as long as the holders like.
//
// A large request can be passed by smaller ones; it then gets 503 too and
// its client retries: better than every small one waiting behind it.
type uploadBudget struct {
	mu      sync.Mutex
	free    int64
	share   int64
	held    map[string]int64
	waiters []*budgetWaiter
}

type budgetWaiter struct {
	owner string
	n     int64
	ready chan struct{} // closed once granted
}

func newUploadBudget(size, share int64) *uploadBudget {
	return &uploadBudget{free: size, share: share, held: map[string]int64{}}
}

// fits says whether owner may take n now; b.mu is held.
func (b *uploadBudget) fits(owner string, n int64) bool {
	return n <= b.free && b.held[owner]+n <= b.share
}

// take records n as owner's; b.mu is held.
func (b *uploadBudget) take(owner string, n int64) {
	b.free -= n
	b.held[owner] += n
}

// reserve takes n (at most share) for owner, waiting at most wait. The
// error says whether owner's own share or the others' uploads were full.
func (b *uploadBudget) reserve(ctx context.Context, owner string, n int64, wait time.Duration) (release func(), err error) {
	n = min(n, b.share)
	release = func() { b.release(owner, n) }
	b.mu.Lock()
	if b.fits(owner, n) {
		b.take(owner, n)
		b.mu.Unlock()
		return release, nil
	}
	w := &budgetWaiter{owner: owner, n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-w.ready:
		return release, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = errBudgetWait
	}
	b.mu.Lock()
	select {
	case <-w.ready: // granted as we gave up: give it back
		b.mu.Unlock()
		b.release(owner, n)
	default:
		for i, o := range b.waiters {
			if o == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				break
			}
		}
		if err == errBudgetWait && b.held[owner]+n > b.share {
			err = errOwnShare
		}
		b.mu.Unlock()
	}
	return func() {}, err
}

// release gives n of owner's back and serves the waiters that now fit,
// in arrival order.
func (b *uploadBudget) release(owner string, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.free += n
	if b.held[owner] -= n; b.held[owner] <= 0 {
		delete(b.held, owner)
	}
	kept := b.waiters[:0]
	for _, w := range b.waiters {
		if b.fits(w.owner, w.n) {
			b.take(w.owner, w.n)
			close(w.ready)
			continue
		}
		kept = append(kept, w)
	}
	clear(b.waiters[len(kept):])
	b.waiters = kept
}

// holds is what owner holds now (for tests and their synchronisation).
func (b *uploadBudget) holds(owner string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held[owner]
}

type budgetError string

func (e budgetError) Error() string { return string(e) }

const (
	errBudgetWait = budgetError("other tokens' uploads hold the API's upload memory (api.upload-memory)")
	errOwnShare   = budgetError("this token's own uploads hold its share of the API's upload memory (half of api.upload-memory)")
)
