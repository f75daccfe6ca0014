package api

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/backend"
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

// runningJob submits job id with the fake runtime's keys fake for token
// and waits until it runs.
func (e *env) runningJob(token, id string, fake map[string]any) {
	e.t.Helper()
	status, data := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": id,
		"inputs": map[string]any{"@fake": fake}}), bearer(token)...)
	if status != 202 {
		e.t.Fatalf("submit %s: %d %s", id, status, data)
	}
	testutil.Eventually(e.t, wait, func() bool {
		v, _, ok := e.srv.store.view(id)
		return ok && v.Status == statusRunning
	}, "the job never ran")
}

// restartedAPI submits hang-1 for frontend "algo", waits for it to run,
// restarts the API with the same client id and returns the new env and
// the token.
func restartedAPI(t *testing.T, durable bool) (*env, string) {
	e := newEnvWith(t, Options{ClientID: "api-adopt"}, durable)
	e.waitReady()
	mine := e.token(apitoken.RoleFrontend, "algo")
	e.runningJob(mine, "hang-1", map[string]any{"hang": true})
	return restartAPI(t, e, "api-adopt"), mine
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

// deepQueueRestarted submits hanging jobs named deep-0… for frontend
// "algo" on an agent of two slots, with a backend whose snapshot lists 3
// jobs, and restarts the API once two run.
func deepQueueRestarted(t *testing.T, jobs int) (*env, string) {
	e := newEnvWith(t, Options{ClientID: "api-adopt"}, false, func(c *backend.Config) { c.SnapshotJobs = 3 })
	e.waitReady()
	mine := e.token(apitoken.RoleFrontend, "algo")
	for i := range jobs {
		status, data := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": fmt.Sprintf("deep-%d", i),
			"inputs": map[string]any{"@fake": map[string]any{"hang": true}}}), bearer(mine)...)
		if status != 202 {
			t.Fatalf("submit %d: %d %s", i, status, data)
		}
	}
	testutil.Eventually(t, wait, func() bool {
		n := 0
		for i := range jobs {
			if v, _, ok := e.srv.store.view(fmt.Sprintf("deep-%d", i)); ok && v.Status == statusRunning {
				n++
			}
		}
		return n == 2
	}, "two jobs never ran")
	return restartAPI(t, e, "api-adopt"), mine
}

// TestAdopted_JobsBeyondTheSnapshot: after a restart, a frontend token's
// queued jobs deeper in the queue than the backend's snapshot lists
// (backend.queue-snapshot-jobs) are found one by one, its own only, and
// can be killed. Before, they were "never submitted" (404): a frontend
// polling them after the API restarted at a deadline would submit them
// again, and could not kill them.
func TestAdopted_JobsBeyondTheSnapshot(t *testing.T) {
	const jobs = 12 // two run on the agent's two slots, ten wait
	e2, mine := deepQueueRestarted(t, jobs)
	other := e2.token(apitoken.RoleFrontend, "other")
	for i := range jobs {
		id := fmt.Sprintf("deep-%d", i)
		if status, data := e2.call("GET", "/api/v1/jobs/"+id, "", nil, bearer(other)...); status != 404 {
			t.Errorf("another token's GET of %s: %d %s", id, status, data)
		}
		status, data := e2.call("GET", "/api/v1/jobs/"+id, "", nil, bearer(mine)...)
		if status != 200 || !strings.Contains(string(data), `"status":"queued"`) && !strings.Contains(string(data), `"status":"running"`) {
			t.Errorf("GET of %s after the restart: %d %s", id, status, data)
		}
	}
	// Polls of an adopted job are answered from what this process
	// follows: they spend none of the token's lookups, which ids it made
	// up would find left.
	for range 600 {
		if status, data := e2.call("GET", "/api/v1/jobs/deep-10", "", nil, bearer(mine)...); status != 200 {
			t.Fatalf("poll of an adopted job: %d %s", status, data)
		}
	}
	if status, data := e2.call("GET", "/api/v1/jobs/deep-unknown", "", nil, bearer(mine)...); status != 404 {
		t.Errorf("GET of an unknown job after 600 polls of an adopted one: %d %s", status, data)
	}
	last := fmt.Sprintf("deep-%d", jobs-1)
	if status, data := e2.call("DELETE", "/api/v1/jobs/"+last, "", nil, bearer(mine)...); status != 202 {
		t.Fatalf("DELETE of the last job: %d %s", status, data)
	}
	testutil.Eventually(t, wait, func() bool {
		v, _, ok := e2.srv.store.view(last)
		return ok && v.Status == statusDone
	}, "the killed job's result never came")

	// Ids a token makes up each cost the backend a round trip: a budget
	// of its own bounds them, and no other token's lookups.
	throttled := 0
	for i := 0; i < 2000 && throttled == 0; i++ {
		status, data := e2.call("GET", fmt.Sprintf("/api/v1/jobs/made-up-%d", i), "", nil, bearer(mine)...)
		switch {
		case status == 503 && strings.Contains(string(data), `"throttled"`) && strings.Contains(string(data), "lookups of jobs"):
			throttled++
		case status != 404:
			t.Fatalf("GET of a made-up id: %d %s", status, data)
		}
	}
	if throttled == 0 {
		t.Error("2,000 lookups of made-up ids were never throttled")
	}
	if status, data := e2.call("GET", "/api/v1/jobs/made-up-x", "", nil, bearer(other)...); status != 404 {
		t.Errorf("another token's lookup after mine were throttled: %d %s", status, data)
	}
}

// TestAdopted_StartedAfterTheRestart: a job that waited when the API
// restarted, adopted then, gets its started event and status when it
// starts. Before, its stream went from queued to done, and its status
// stayed queued in the API until its result came.
func TestAdopted_StartedAfterTheRestart(t *testing.T) {
	e2, mine := deepQueueRestarted(t, 3)
	if status, data := e2.call("GET", "/api/v1/jobs/deep-2", "", nil, bearer(mine)...); status != 200 || !strings.Contains(string(data), `"status":"queued"`) {
		t.Fatalf("GET of the waiting job: %d %s", status, data)
	}
	// Its turn comes when one of the two running jobs ends.
	for _, id := range []string{"deep-0", "deep-1"} {
		if status, data := e2.call("DELETE", "/api/v1/jobs/"+id, "", nil, bearer(mine)...); status != 202 {
			t.Fatalf("DELETE %s: %d %s", id, status, data)
		}
	}
	testutil.Eventually(t, wait, func() bool {
		r, _ := e2.srv.store.record("deep-2")
		e2.srv.store.mu.Lock()
		defer e2.srv.store.mu.Unlock()
		return r.status == statusRunning
	}, "the adopted job never started in the API's store")
	evs, _ := e2.readEvents("/api/v1/jobs/deep-2/events", bearer(mine), 2)
	if len(evs) != 2 || evs[0].name != "queued" || evs[1].name != "started" || !strings.Contains(evs[1].data, `"agent"`) {
		t.Errorf("events of the adopted job: %v", evs)
	}
}

// TestAdopted_FirstGetNeedsNoHistoryTurn: the first poll after a restart
// of a job still waiting is answered from the queue, whatever the token's
// name does with the history meanwhile. Before, every such poll took a
// history turn first: a frontend's pollers after a restart at a deadline
// were answered 503 busy past the name's four.
func TestAdopted_FirstGetNeedsNoHistoryTurn(t *testing.T) {
	e2, mine := deepQueueRestarted(t, 4)
	owner := principal{role: apitoken.RoleFrontend, name: "algo"}.owner()
	for range maxHistoryPerName {
		release, err := e2.srv.historyTurns.take(owner)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	for _, id := range []string{"deep-1", "deep-3"} { // running, waiting
		if status, data := e2.call("GET", "/api/v1/jobs/"+id, "", nil, bearer(mine)...); status != 200 {
			t.Errorf("first GET of %s while the name's history turns are taken: %d %s", id, status, data)
		}
	}
}
