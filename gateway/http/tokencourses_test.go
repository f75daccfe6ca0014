package api

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/gateway/http/apitoken"
)

// waitingJob is a job of course algo for an environment no agent offers,
// which waits for one: nothing runs, so what waits is what was sent.
func (e *env) waitingJob(id, user string) map[string]any {
	return e.job(map[string]any{"job_id": id, "course_id": "algo", "environment_type": "docker", "environment": "nowhere",
		"wait_for_environment": true, "inputs": map[string]any{"@username": user}})
}

// TestTokensOwnTheirCourses: the API is one NATS client for every token,
// and the backend counted two tokens' courses "algo" as one: a token that
// filled backend.max-waiting-per-course (or -per-user, with the same
// student name) got the other token's jobs refused (429 queue_full). Each
// frontend token's courses are now its own; an admin token's are the
// API's, apart from both.
func TestTokensOwnTheirCourses(t *testing.T) {
	tests := []struct {
		name              string
		perCourse, perUsr int
	}{
		{"course cap", 2, 0},
		{"user cap", 0, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, Options{}, false, func(c *backend.Config) {
				c.MaxWaitingPerCourse, c.MaxWaitingPerUser = tc.perCourse, tc.perUsr
			})
			e.waitReady()
			alpha := bearer(e.token(apitoken.RoleFrontend, "alpha"))
			beta := bearer(e.token(apitoken.RoleFrontend, "beta"))
			admin := bearer(testToken)
			for i := range 2 {
				if status, data := e.postJSON("/api/v1/jobs", e.waitingJob(fmt.Sprintf("a-%d", i), "ann"), alpha...); status != 202 {
					t.Fatalf("alpha's job %d: %d %s", i, status, data)
				}
			}
			if status, data := e.postJSON("/api/v1/jobs", e.waitingJob("a-over", "ann"), alpha...); status != 429 {
				t.Fatalf("alpha's job over its cap: %d %s, want 429", status, data)
			}
			for _, who := range []struct {
				id  string
				tok []string
			}{{"b-0", beta}, {"admin-0", admin}} {
				if status, data := e.postJSON("/api/v1/jobs", e.waitingJob(who.id, "ann"), who.tok...); status != 202 {
					t.Fatalf("%s, another owner's algo, refused for alpha's: %d %s", who.id, status, data)
				}
			}
		})
	}
}

// TestQueueCountsPerToken: an admin's GET /api/v1/queue counts each
// token's course apart, naming the API's client id and the token's name;
// a frontend token's counts are of its own courses only.
func TestQueueCountsPerToken(t *testing.T) {
	e := newEnv(t, Options{})
	e.waitReady()
	alpha := bearer(e.token(apitoken.RoleFrontend, "alpha"))
	beta := bearer(e.token(apitoken.RoleFrontend, "beta"))
	for _, j := range []struct {
		id  string
		tok []string
	}{{"a-1", alpha}, {"a-2", alpha}, {"b-1", beta}} {
		if status, data := e.postJSON("/api/v1/jobs", e.waitingJob(j.id, "ann"), j.tok...); status != 202 {
			t.Fatalf("%s: %d %s", j.id, status, data)
		}
	}
	api := e.srv.Client().ID()
	row := func(frontend string, waiting int) string {
		return fmt.Sprintf("%s %s algo %d", api, frontend, waiting)
	}
	tests := []struct {
		name string
		tok  []string
		want []string
	}{
		{"admin", bearer(testToken), []string{row("alpha", 2), row("beta", 1)}},
		// Its own rows, without the API's client id (its host's name).
		{"alpha", alpha, []string{" <nil> algo 2"}},
		{"beta, of another course", beta, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/v1/queue"
			if tc.want == nil {
				path += "?course=nothing-here"
			}
			status, data := e.call("GET", path, "", nil, tc.tok...)
			if status != 200 {
				t.Fatalf("%d %s", status, data)
			}
			var got []string
			for _, c := range decode(t, data)["summary"].(map[string]any)["counts"].([]any) {
				c := c.(map[string]any)
				if c["environment"] == "nowhere" {
					got = append(got, fmt.Sprintf("%s %v %s %v", c["client_id"], c["frontend"], c["course_id"], c["waiting"]))
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("counts %q, want %q", got, tc.want)
			}
		})
	}
}
