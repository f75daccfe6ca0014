package api

import (
	"cmp"
	"net/http"
	"sync"
	"time"

	"github.com/ingo-grader/ingo/internal/fairuse"
)

// Paged queue requests (?limit, ?cursor, ?environment, ?course) are each
// their own, so they cannot share a snapshot (snapshot.go). Each costs the
// backend's loop about what a snapshot does (0.1 s with 5,000 waiting
// jobs), and the backend gives the API, one admin for all its tokens, a
// quarter of its loop for them: one token's paged requests, a few a
// second, used it, and every other token's queue views were refused 503
// throttled. So each token name's paged requests may take a share of
// the time (pagedShare): their round trips, 5 ms each at least, are
// paid back at a tenth of the time since, and a name owing half a second
// is refused.
var pagedShare = fairuse.Budget{Share: 0.1, Burst: 500 * time.Millisecond, Least: 5 * time.Millisecond}

// jobLookups is the share of one job's lookups (Server.fromQueue): the
// backend finds a job by its id at once, so a round trip is charged for
// what it took, a millisecond at least, and about five hundred may come
// at once (the polls of a frontend's queued jobs after the API restarted),
// then a hundred a second.
var jobLookups = fairuse.Budget{Share: 0.1, Burst: 500 * time.Millisecond, Least: time.Millisecond}

var errLookupsThrottled = &httpError{status: http.StatusServiceUnavailable, code: "throttled", retryAfter: time.Second,
	message: "this token's name's lookups of jobs an earlier process of this API submitted took their share of the backend's time; ask again in a second"}

// pagedBudget is what each token name's paged queue requests owe (or,
// with its own budget and refusal, its lookups of single jobs).
type pagedBudget struct {
	mu      sync.Mutex
	budget  fairuse.Budget // pagedShare when zero
	refusal *httpError     // errPagedThrottled when nil
	debts   fairuse.Debts
}

var errPagedThrottled = &httpError{status: http.StatusServiceUnavailable, code: "throttled", retryAfter: time.Second,
	message: "this token's name's paged queue requests took their share of the backend's time; ask again in a second"}

// take says whether owner may send a paged request at now; done charges
// its round trip.
func (b *pagedBudget) take(owner string, now time.Time) (done func(), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.debts.Budget == (fairuse.Budget{}) {
		b.debts.Budget = cmp.Or(b.budget, pagedShare)
	}
	if !b.debts.Allow(owner, now) {
		if b.refusal != nil {
			return func() {}, b.refusal
		}
		return func() {}, errPagedThrottled
	}
	return func() {
		end := time.Now()
		b.mu.Lock()
		defer b.mu.Unlock()
		b.debts.Charge(owner, end.Sub(now), end)
	}, nil
}
