package api

import (
	"net/http"
	"sync"
	"time"
)

// Paged queue requests (?limit, ?cursor, ?environment, ?course) are each
// their own, so they cannot share a snapshot (snapshot.go). Each costs the
// backend's loop about what a snapshot does (0.1 s with 5,000 waiting
// jobs), and the backend gives the API, one admin for all its tokens, a
// quarter of its loop for them: one token's paged requests, a few a
// second, used it, and every other token's queue views were refused 503
// throttled. So each token name's paged requests may take a share of
// the time: their round trips, at least pagedLeast each, are paid back at
// pagedShare of the time since, and a name owing pagedBurst is refused.
const (
	pagedShare = 0.1
	pagedBurst = 500 * time.Millisecond
	pagedLeast = 5 * time.Millisecond
)

// pagedBudget is what each token name's paged queue requests owe.
type pagedBudget struct {
	mu    sync.Mutex
	debts map[string]*pagedDebt
}

type pagedDebt struct {
	owed time.Duration
	at   time.Time
}

var errPagedThrottled = &httpError{status: http.StatusServiceUnavailable, code: "throttled", retryAfter: time.Second,
	message: "this token's name's paged queue requests took their share of the backend's time; ask again in a second"}

// take says whether owner may send a paged request at now; done charges
// its round trip.
func (b *pagedBudget) take(owner string, now time.Time) (done func(), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.debts == nil {
		b.debts = map[string]*pagedDebt{}
	}
	if d := b.debts[owner]; d != nil {
		d.owed -= time.Duration(float64(now.Sub(d.at)) * pagedShare)
		d.at = now
		if d.owed <= 0 {
			delete(b.debts, owner)
		} else if d.owed >= pagedBurst {
			return func() {}, errPagedThrottled
		}
	}
	return func() {
		took := max(time.Since(now), pagedLeast)
		b.mu.Lock()
		defer b.mu.Unlock()
		d := b.debts[owner]
		if d == nil {
			d = &pagedDebt{at: time.Now()}
			b.debts[owner] = d
		}
		d.owed += took
	}, nil
}
