package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// A job another client submitted (the CLI) is found in the history by an
// admin token, by id and in the list; a frontend token sees only its own
// jobs there.
func TestHistoryThroughTheAPI(t *testing.T) {
	e := newEnvWith(t, Options{AdminToken: testToken}, true)
	alice, bob := bearer(e.token(apitoken.RoleFrontend, "alice")), bearer(e.token(apitoken.RoleFrontend, "bob"))

	cl, err := frontendclient.New(context.Background(), e.connect("cli"), frontendclient.Options{ClientID: "cli", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	job, err := cl.NewJob(t.Context(), frontendclient.JobRequest{ClientNewJob: messages.ClientNewJob{JobDescription: messages.JobDescription{
		JobID: "cli-job", CourseID: "c1", EnvironmentType: "docker", Environment: "default"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := job.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	code, body := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": "alice-job", "course_id": "c1",
		"environment_type": "docker", "environment": "default"}), alice...)
	if code != http.StatusAccepted {
		t.Fatalf("submit as alice: %d %s", code, body)
	}
	testutil.Eventually(t, wait, func() bool {
		code, body := e.call("GET", "/api/v1/jobs?course=c1", "", nil)
		var l struct{ Jobs []map[string]any }
		return code == http.StatusOK && json.Unmarshal(body, &l) == nil && len(l.Jobs) == 2
	}, "both jobs in the admin's list")

	code, body = e.call("GET", "/api/v1/jobs/cli-job", "", nil)
	if v := decode(t, body); code != http.StatusOK || v["status"] != "done" || v["record"] == nil {
		t.Errorf("admin GET of the CLI's job: %d %s", code, body)
	}
	if code, body := e.call("GET", "/api/v1/jobs/cli-job", "", nil, alice...); code != http.StatusNotFound {
		t.Errorf("alice GET of the CLI's job: %d %s", code, body)
	}
	if code, body := e.call("GET", "/api/v1/jobs/alice-job", "", nil, bob...); code != http.StatusNotFound {
		t.Errorf("bob GET of alice's job: %d %s", code, body)
	}
	for _, c := range []struct {
		who  []string
		want int
	}{{alice, 1}, {bob, 0}} {
		code, body := e.call("GET", "/api/v1/jobs", "", nil, c.who...)
		var l struct {
			Jobs []struct {
				JobID string `json:"job_id"`
			}
		}
		if code != http.StatusOK || json.Unmarshal(body, &l) != nil || len(l.Jobs) != c.want || (c.want == 1 && l.Jobs[0].JobID != "alice-job") {
			t.Errorf("list: %d %s; want %d job(s)", code, body, c.want)
		}
	}
	if code, _ := e.call("GET", "/api/v1/jobs?status=nonsense", "", nil); code != http.StatusBadRequest {
		t.Errorf("a bad status: %d, want 400", code)
	}
}

// Without a job history (a backend that is not durable here, or one with
// backend.history off), the history's lists answer 503 at once, naming
// the settings that keep one; a job's own GET still answers from the
// backend.
func TestHistoryOffIsUnavailable(t *testing.T) {
	e := newEnv(t, Options{AdminToken: testToken})
	for _, path := range []string{"/api/v1/jobs", "/api/v1/history/summary"} {
		code, body := e.call("GET", path, "", nil)
		if code != http.StatusServiceUnavailable {
			t.Errorf("GET %s: %d %s; want 503", path, code, body)
			continue
		}
		errBody, _ := decode(t, body)["error"].(map[string]any)
		if errBody["code"] != "history_unavailable" || !strings.Contains(fmt.Sprint(errBody["message"]), "backend.history on") {
			t.Errorf("GET %s: %s; want code history_unavailable naming backend.history", path, body)
		}
	}
	code, body := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": "no-history", "course_id": "c1",
		"environment_type": "docker", "environment": "default"}))
	if code != http.StatusAccepted {
		t.Fatalf("submit: %d %s", code, body)
	}
	if code, body := e.call("GET", "/api/v1/jobs/no-history", "", nil); code != http.StatusOK {
		t.Errorf("GET of the job itself: %d %s", code, body)
	}
}
