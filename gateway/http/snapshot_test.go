package api

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/messages"
)

// TestQueuePollsShareSnapshots: one token polling the queue does not
// cost the backend a snapshot a request. It did: the backend gives the
// API, one admin for all tokens, a share of its event loop for
// snapshots, and one frontend token's polls used it, every other token's
// (admins' too) then getting 503 throttled. A submission is seen at once
// all the same.
func TestQueuePollsShareSnapshots(t *testing.T) {
	e := newEnv(t, Options{AdminToken: testToken})
	e.waitReady()
	front := bearer(e.token(apitoken.RoleFrontend, "course-a"))

	var asked atomic.Int64
	nc := e.connect("watcher")
	sub, err := nc.Subscribe(messages.NewSubjects(e.srv.opts.Prefix).BackendAdmin(e.srv.client.ID()), func(m *nats.Msg) {
		items, err := messages.Split(m.Data)
		if err != nil {
			return
		}
		for _, it := range items {
			if msg, err := messages.Decode(it); err == nil {
				if _, ok := msg.(*messages.ClientGetQueue); ok {
					asked.Add(1)
				}
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	const polls = 60
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range polls / 4 {
				if status, data := e.call("GET", "/api/v1/queue", "", nil, front...); status != 200 {
					t.Errorf("GET queue: %d %s", status, data)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := asked.Load(); n > polls/4 {
		t.Errorf("%d polls asked the backend %d times", polls, n)
	}

	// Seen at once: the submission made the snapshot stale.
	e.call("GET", "/api/v1/queue", "", nil)
	if status, data := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": "seen", "inputs": map[string]any{"@fake": map[string]any{"hang": true}}})); status != 202 {
		t.Fatalf("submit: %d %s", status, data)
	}
	_, data := e.call("GET", "/api/v1/queue", "", nil)
	if !strings.Contains(string(data), `"seen"`) {
		t.Errorf("queue right after the submission: %s", data)
	}
}
