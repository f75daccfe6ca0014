package api

import (
	"net/http"
	"sync"
	"time"

	"github.com/ingo-grader/ingo/internal/fairuse"
)

// maxHistoryPerName bounds the history requests of one token name in
// flight. The API asks the backend's history as one admin for all its
// tokens, and the history serves one admin at most 12 requests at once
// (backend/history): one frontend token keeping a dozen slow pages of
// GET /api/v1/jobs in flight held them all, and every other token's
// listings, summaries and GET /api/v1/jobs/{id} of finished jobs,
// admins' included, were refused busy. A name past it is answered 503
// busy at once; three names flooding still leave the others some.
const maxHistoryPerName = 4

// historyTurns counts the history requests in flight by token name.
type historyTurns struct{ inFlight fairuse.InFlight }

var errHistoryBusy = &httpError{status: http.StatusServiceUnavailable, code: "busy", retryAfter: time.Second,
	message: "this token's name has as many job history requests in flight as the API allows one name; ask again once they are answered"}

// take counts a request of owner, or refuses it past maxHistoryPerName;
// release ends it.
func (h *historyTurns) take(owner string) (release func(), err error) {
	if !h.inFlight.Take(owner, maxHistoryPerName) {
		return func() {}, errHistoryBusy
	}
	var once sync.Once
	return func() { once.Do(func() { h.inFlight.Give(owner) }) }, nil
}
