package api

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/messages"
)

// TestOneTokenCannotHoldTheHistory: one token's history requests in
// flight are bounded, so that another's still reach the history. The API
// asks as one admin for all its tokens, and the history serves one admin
// 12 requests at once: one frontend token's slow GET /api/v1/jobs held
// them all, and an admin's were refused busy. Here a history that answers
// after a while counts what reaches it.
func TestOneTokenCannotHoldTheHistory(t *testing.T) {
	e := newEnv(t, Options{AdminToken: testToken}) // no history of its own
	e.waitReady()
	front := bearer(e.token(apitoken.RoleFrontend, "course-a"))

	var inFlight, most atomic.Int64
	release := make(chan struct{})
	nc := e.connect("slow-history")
	answer, err := messages.Encode(&messages.BackendHistory{})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := nc.Subscribe(messages.NewSubjects(e.srv.opts.Prefix).HistoryAdmin(e.srv.client.ID()), func(m *nats.Msg) {
		n := inFlight.Add(1)
		for {
			if old := most.Load(); n <= old || most.CompareAndSwap(old, n) {
				break
			}
		}
		go func() {
			select {
			case <-release:
			case <-time.After(wait):
			}
			inFlight.Add(-1)
			m.Respond(answer)
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	const flood = 10
	var wg sync.WaitGroup
	var busy atomic.Int64
	for range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _ := e.call("GET", "/api/v1/jobs", "", nil, front...)
			if status == 503 {
				busy.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(wait)
	for inFlight.Load()+busy.Load() < flood && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := most.Load(); n > maxHistoryPerName {
		t.Errorf("one token had %d history requests in flight, want at most %d", n, maxHistoryPerName)
	}
	// Another token's request reaches the history meanwhile.
	before := most.Load()
	done := make(chan int, 1)
	go func() {
		status, _ := e.call("GET", "/api/v1/jobs", "", nil)
		done <- status
	}()
	deadline = time.Now().Add(wait)
	for inFlight.Load() <= before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if status := <-done; status != 200 {
		t.Errorf("an admin's GET /api/v1/jobs during the flood: %d", status)
	}
	wg.Wait()
}
