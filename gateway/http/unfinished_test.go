package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
)

// TestUnfinishedBytesPerToken: waiting jobs stay in the backend's job
// journal, whose bound every client shares, and from 90% of it every new
// job is refused. Before, a frontend token whose jobs waited for an
// environment nobody offers (wait_for_environment), with 6 MiB of inputs
// each, filled it in minutes (a 256 MiB journal: 58 requests, 11 s), and
// every other course's jobs were refused. A token's name now has
// api.frontend-max-unfinished-bytes of jobs not finished at most; others
// go on, and a job that ends frees its share.
func TestUnfinishedBytesPerToken(t *testing.T) {
	e := newEnv(t, Options{MaxUnfinishedBytes: 1 << 20})
	e.waitReady()
	flood, other := e.token(apitoken.RoleFrontend, "flood"), e.token(apitoken.RoleFrontend, "other")
	big := base64.StdEncoding.EncodeToString(make([]byte, 300<<10))
	job := func(id string) map[string]any {
		return e.job(map[string]any{"job_id": id, "inputs": map[string]any{
			"@fake": map[string]any{"hang": true},
			"f":     map[string]any{"filename": "f", "content": big}}})
	}
	accepted := 0
	for i := range 6 {
		status, data := e.postJSON("/api/v1/jobs", job(fmt.Sprintf("flood-%d", i)), bearer(flood)...)
		if status == 202 {
			accepted++
			continue
		}
		if status != 429 || !strings.Contains(string(data), "api.frontend-max-unfinished-bytes") {
			t.Fatalf("flood-%d: %d %s, want 202 or 429 naming the setting", i, status, data)
		}
		break
	}
	if accepted != 3 {
		t.Fatalf("%d jobs of 300 KiB accepted within 1 MiB, want 3", accepted)
	}
	if status, data := e.postJSON("/api/v1/jobs", job("other-1"), bearer(other)...); status != 202 {
		t.Errorf("another token's job: %d %s", status, data)
	}
	if status, data := e.postJSON("/api/v1/jobs", job("admin-1")); status != 202 {
		t.Errorf("an admin token's job: %d %s", status, data)
	}
	// A job that ends frees its share.
	if status, data := e.call("DELETE", "/api/v1/jobs/flood-0", "", nil, bearer(flood)...); status != 202 {
		t.Fatalf("kill: %d %s", status, data)
	}
	deadline := time.Now().Add(wait)
	for {
		status, data := e.postJSON("/api/v1/jobs", job("flood-again"), bearer(flood)...)
		if status == 202 {
			break
		}
		if status != 429 || time.Now().After(deadline) {
			t.Fatalf("after a kill: %d %s", status, data)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range []string{"flood-1", "flood-2", "flood-again", "other-1", "admin-1"} {
		e.call("DELETE", "/api/v1/jobs/"+id, "", nil)
	}
}

// TestUnfinishedBytesOfHungUpSubmissions: a submission whose client hangs
// up once its body is sent goes unanswered (abandoned: the backend may
// have the job). Its charge now stays until the job's result arrives or
// its owner's retry takes it over; before, it went with the record, and a
// token that hung up after each body had its jobs queued uncharged, as
// many as it liked.
func TestUnfinishedBytesOfHungUpSubmissions(t *testing.T) {
	e := newEnv(t, Options{MaxUnfinishedBytes: 1 << 20})
	e.waitReady()
	flood := e.token(apitoken.RoleFrontend, "flood")
	big := base64.StdEncoding.EncodeToString(make([]byte, 300<<10))
	body := func(id string) []byte {
		data, err := json.Marshal(e.job(map[string]any{"job_id": id, "inputs": map[string]any{
			"@fake": map[string]any{"hang": true},
			"f":     map[string]any{"filename": "f", "content": big}}}))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for i := range 6 {
		ctx, cancel := context.WithCancel(t.Context())
		req := httptest.NewRequest("POST", "/api/v1/jobs", cancelAtEnd{bytes.NewReader(body(fmt.Sprintf("gone-%d", i))), cancel}).WithContext(ctx)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+flood)
		e.srv.Handler().ServeHTTP(httptest.NewRecorder(), req)
	}
	status, data := e.call("POST", "/api/v1/jobs", "application/json", bytes.NewReader(body("after")), bearer(flood)...)
	if status != 429 {
		t.Errorf("after 6 hung-up submissions of 300 KiB within 1 MiB: %d %s, want 429", status, data)
	}
	// The owner's retry of an abandoned id is not charged twice.
	if status, data := e.call("POST", "/api/v1/jobs", "application/json", bytes.NewReader(body("gone-0")), bearer(flood)...); status != 202 {
		t.Errorf("the owner's retry of a hung-up submission: %d %s", status, data)
	}
	if status, data := e.call("DELETE", "/api/v1/jobs/gone-0", "", nil); status != 202 {
		t.Errorf("kill: %d %s", status, data)
	}
}
