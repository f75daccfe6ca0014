package api

import (
	"fmt"
	"testing"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestCourseFilterTellsAFrontendNothingOfOthers: the API is an admin on
// NATS, so a frontend's ?course= asked of the backend counted and paged
// every course's jobs of that id. It is applied by the API to the token's
// own jobs: another course's name answers as a course without jobs.
func TestCourseFilterTellsAFrontendNothingOfOthers(t *testing.T) {
	e := newEnv(t, Options{})
	e.waitReady()
	alpha := bearer(e.token(apitoken.RoleFrontend, "alpha"))
	beta := bearer(e.token(apitoken.RoleFrontend, "beta"))
	for i := range 3 {
		status, data := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": fmt.Sprintf("secret-%d", i), "course_id": "secretcourse",
			"inputs": map[string]any{"@fake": map[string]any{"hang": true}}}), alpha...)
		if status != 202 {
			t.Fatalf("submit: %d %s", status, data)
		}
	}
	testutil.Eventually(t, wait, func() bool {
		_, data := e.call("GET", "/api/v1/queue?course=secretcourse", "", nil, alpha...)
		q := decode(t, data)
		return len(q["running"].([]any))+len(q["waiting"].([]any)) == 3
	}, "alpha never saw its three jobs with ?course=secretcourse")

	shape := func(path string) string {
		t.Helper()
		status, data := e.call("GET", path, "", nil, beta...)
		if status != 200 {
			t.Fatalf("%s: %d %s", path, status, data)
		}
		q := decode(t, data)
		_, cursor := q["next_cursor"]
		return fmt.Sprintf("running_count %v, waiting_count %v, listed %d, cursor %v",
			q["running_count"], q["waiting_count"], len(q["running"].([]any))+len(q["waiting"].([]any)), cursor)
	}
	secret := shape("/api/v1/queue?course=secretcourse&limit=1")
	none := shape("/api/v1/queue?course=nothing-here&limit=1")
	if secret != none {
		t.Errorf("beta tells secretcourse (%s) from a course without jobs (%s)", secret, none)
	}
}
