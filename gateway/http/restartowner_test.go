package api

import (
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestFrontendFindsItsJobsAfterRestart: after a restart of the API, a
// frontend token asking for its own job that still waits or runs was
// told 404 "it was never submitted" (only admins were answered from the
// backend's queue) and could not kill it, until its result came back; a
// frontend believing that submits it again. The queue's launcher names
// the token that submitted it, as the history's does.
func TestFrontendFindsItsJobsAfterRestart(t *testing.T) {
	for _, durable := range []bool{false, true} {
		t.Run(map[bool]string{false: "memory", true: "durable"}[durable], func(t *testing.T) {
			frontendFindsItsJobsAfterRestart(t, durable)
		})
	}
}

func frontendFindsItsJobsAfterRestart(t *testing.T, durable bool) {
	e := newEnvWith(t, Options{ClientID: "api-restart"}, durable)
	e.waitReady()
	mine := e.token(apitoken.RoleFrontend, "algo")
	other := e.token(apitoken.RoleFrontend, "java")
	status, data := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": "hang-1",
		"inputs": map[string]any{"@fake": map[string]any{"hang": true}}}), bearer(mine)...)
	if status != 202 {
		t.Fatalf("submit: %d %s", status, data)
	}
	status, data = e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": "quick-1",
		"inputs": map[string]any{"@fake": map[string]any{"sleep": "300ms"}}}), bearer(mine)...)
	if status != 202 {
		t.Fatalf("submit: %d %s", status, data)
	}
	for _, id := range []string{"hang-2", "wait-1"} { // after quick-1, hang-2 takes its slot and wait-1 waits
		status, data = e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": id,
			"inputs": map[string]any{"@fake": map[string]any{"hang": true}}}), bearer(mine)...)
		if status != 202 {
			t.Fatalf("submit %s: %d %s", id, status, data)
		}
	}
	testutil.Eventually(t, wait, func() bool {
		v, _, ok := e.srv.store.view("hang-1")
		return ok && v.Status == statusRunning
	}, "the job never ran")
	e2 := restartAPI(t, e, "api-restart")
	srv := e2.srv
	testutil.Eventually(t, wait, func() bool {
		v, _, ok := srv.store.view("quick-1")
		return ok && v.Status == statusDone
	}, "quick-1's result never reached the restarted API")
	if durable { // the history names its owner; without it, only admins know
		for _, path := range []string{"/api/v1/jobs/quick-1", "/api/v1/jobs/quick-1/events"} {
			if status, data := e2.call("GET", path, "", nil, bearer(mine)...); status != 200 || !strings.Contains(string(data), `"status":"success"`) {
				t.Errorf("%s, finished while the API was down: %d %s", path, status, data)
			}
			if status, _ := e2.call("GET", path, "", nil, bearer(other)...); status != 404 {
				t.Errorf("%s for another frontend: %d", path, status)
			}
		}
	}

	// A job still waiting when the restarted API first answered it is
	// seen to start: its status is not the one of that first answer.
	if status, data := e2.call("GET", "/api/v1/jobs/wait-1", "", nil, bearer(mine)...); status != 200 || !strings.Contains(string(data), `"status":"queued"`) {
		t.Fatalf("wait-1: %d %s", status, data)
	}
	if status, data := e2.call("DELETE", "/api/v1/jobs/hang-2", "", nil, bearer(mine)...); status != 202 {
		t.Fatalf("kill hang-2: %d %s", status, data)
	}
	testutil.Eventually(t, wait, func() bool {
		srv.snaps.stale()
		_, data := e2.call("GET", "/api/v1/jobs/wait-1", "", nil, bearer(mine)...)
		return strings.Contains(string(data), `"status":"running"`)
	}, "wait-1 never showed as running after hang-2 was killed")
	for _, c := range []struct {
		name, method, path, token string
		want                      int
		body                      string
	}{
		{"another frontend's GET", "GET", "/api/v1/jobs/hang-1", other, 404, "unknown_job"},
		{"another frontend's events", "GET", "/api/v1/jobs/hang-1/events", other, 404, "unknown_job"},
		{"another frontend's kill", "DELETE", "/api/v1/jobs/hang-1", other, 404, "unknown_job"},
		{"its GET", "GET", "/api/v1/jobs/hang-1", mine, 200, `"status":"running"`},
		{"its kill", "DELETE", "/api/v1/jobs/hang-1", mine, 202, "hang-1"},
		{"its events", "GET", "/api/v1/jobs/hang-1/events", mine, 200, `"status":"killed"`},
		{"its GET once killed", "GET", "/api/v1/jobs/hang-1", mine, 200, `"status":"killed"`},
		{"another frontend's GET once killed", "GET", "/api/v1/jobs/hang-1", other, 404, "unknown_job"},
	} {
		if strings.HasSuffix(c.name, "once killed") {
			testutil.Eventually(t, wait, func() bool {
				v, _, ok := srv.store.view("hang-1")
				return ok && v.Status == statusDone
			}, "the killed result never came")
		}
		status, data := e2.call(c.method, c.path, "", nil, bearer(c.token)...)
		if status != c.want || !strings.Contains(string(data), c.body) {
			t.Errorf("%s: %d %s, want %d with %s", c.name, status, data, c.want, c.body)
		}
	}
}
