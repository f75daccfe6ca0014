package api

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// restartAPI closes e's API and starts another process of it with the
// same client id, on the same NATS and token key.
func restartAPI(t *testing.T, e *env, clientID string) *env {
	t.Helper()
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	srv, err := New(context.Background(), e.connect("api-2"), Options{ClientID: clientID, PingInterval: 100 * time.Millisecond,
		AdminToken: testToken, TokenKey: e.key, Frontend: testPolicy, Log: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e2 := &env{t: t, srv: srv, url: hs.URL, doc: e.doc, key: e.key, connect: e.connect, sys: e.sys, task: e.task}
	e2.waitReady()
	return e2
}

// restartedAPI submits hang-1 for frontend "algo", waits for it to run,
// restarts the API with the same client id and returns the new env and
// the token.
func restartedAPI(t *testing.T, durable bool) (*env, string) {
	e := newEnvWith(t, Options{ClientID: "api-adopt"}, durable)
	e.waitReady()
	mine := e.token(apitoken.RoleFrontend, "algo")
	status, data := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": "hang-1",
		"inputs": map[string]any{"@fake": map[string]any{"hang": true}}}), bearer(mine)...)
	if status != 202 {
		t.Fatalf("submit: %d %s", status, data)
	}
	testutil.Eventually(t, wait, func() bool {
		v, _, ok := e.srv.store.view("hang-1")
		return ok && v.Status == statusRunning
	}, "the job never ran")
	e2 := restartAPI(t, e, "api-adopt")
	return e2, mine
}

// TestAdopted_QueueListsJobsOfBeforeTheRestart: a frontend token's queue
// after an API restart lists its job still running, before any GET of
// the job adopted it. Before, its running list was empty until then.
func TestAdopted_QueueListsJobsOfBeforeTheRestart(t *testing.T) {
	e2, mine := restartedAPI(t, false)
	status, data := e2.call("GET", "/api/v1/queue", "", nil, bearer(mine)...)
	if status != 200 || !strings.Contains(string(data), "hang-1") {
		t.Errorf("queue before any GET of the job: %d %s", status, data)
	}
	other := e2.token(apitoken.RoleFrontend, "other")
	if status, data := e2.call("GET", "/api/v1/queue", "", nil, bearer(other)...); status != 200 || strings.Contains(string(data), "hang-1") {
		t.Errorf("another token's queue: %d %s", status, data)
	}
}

// TestAdopted_GetNeedsNoHistoryTurn: a poll of a running job adopted
// after a restart is answered from the queue, whatever the token's name
// does with the history meanwhile. Before, it took a history turn first,
// and was answered 503 busy while the name's four were taken.
func TestAdopted_GetNeedsNoHistoryTurn(t *testing.T) {
	e2, mine := restartedAPI(t, false)
	if status, data := e2.call("GET", "/api/v1/jobs/hang-1", "", nil, bearer(mine)...); status != 200 {
		t.Fatalf("first GET: %d %s", status, data)
	}
	owner := principal{role: apitoken.RoleFrontend, name: "algo"}.owner()
	for range maxHistoryPerName { // other requests of the same name in flight (listings, other polls)
		release, err := e2.srv.historyTurns.take(owner)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	if status, data := e2.call("GET", "/api/v1/jobs/hang-1", "", nil, bearer(mine)...); status != 200 {
		t.Errorf("GET of its running adopted job while the name's history turns are taken: %d %s", status, data)
	}
}

// TestAdopted_JobThatLeftTheQueue: an adopted job that has left the queue,
// its result not here yet, is answered with what the store knows. Before,
// "never submitted": its frontend would submit it again.
func TestAdopted_JobThatLeftTheQueue(t *testing.T) {
	e2, mine := restartedAPI(t, false)
	if status, data := e2.call("GET", "/api/v1/jobs/hang-1", "", nil, bearer(mine)...); status != 200 {
		t.Fatalf("first GET: %d %s", status, data)
	}
	// The snapshot as the backend gives it between the job's end and
	// the result's arrival at OnResult.
	c := &e2.srv.snaps
	c.mu.Lock()
	c.q, c.at = &messages.BackendGetQueue{}, time.Now().Add(time.Hour)
	c.mu.Unlock()
	if status, data := e2.call("GET", "/api/v1/jobs/hang-1", "", nil, bearer(mine)...); status != 200 {
		t.Errorf("GET of an adopted job the store holds: %d %s", status, data)
	}
}
