package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
)

// cancelAtEnd ends its request's context once the body is read: the
// submission then leaves with nobody waiting for its answer, as when a
// client gives up while the backend is slow.
type cancelAtEnd struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c cancelAtEnd) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		c.cancel()
	}
	return n, err
}

// TestAbandonedJobIsNotAnotherTokensToAdopt: a submission that went
// unanswered may be adopted by a retry of its id (frontendclient), and
// every token shares the API's client: only the same owner's retry may
// adopt it, or another course would get the job's result and could kill
// it.
func TestAbandonedJobIsNotAnotherTokensToAdopt(t *testing.T) {
	e := newEnv(t, Options{})
	e.waitReady()
	alpha, beta := e.token(apitoken.RoleFrontend, "alpha"), e.token(apitoken.RoleFrontend, "beta")
	body, err := json.Marshal(e.job(map[string]any{"job_id": "a-9", "inputs": map[string]any{"@fake": map[string]any{"hang": true}}}))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	req := httptest.NewRequest("POST", "/api/v1/jobs", cancelAtEnd{bytes.NewReader(body), cancel}).WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+alpha)
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	if rec.Code == http.StatusAccepted {
		t.Fatalf("the abandoned submission was answered 202: %s", rec.Body)
	}

	for _, tc := range []struct {
		name string
		tok  string
		want int
	}{
		{"another course retries the id", beta, http.StatusConflict},
		{"the admin retries the id", testToken, http.StatusConflict},
		{"the course that sent it retries", alpha, http.StatusAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, data := e.call("POST", "/api/v1/jobs", "application/json", bytes.NewReader(body), bearer(tc.tok)...)
			if status != tc.want {
				t.Fatalf("%d %s, want %d", status, data, tc.want)
			}
		})
	}
	status, _ := e.call("GET", "/api/v1/jobs/a-9", "", nil, bearer(beta)...)
	if status != http.StatusNotFound {
		t.Errorf("beta reads alpha's job: %d, want 404", status)
	}
	if status, data := e.call("GET", "/api/v1/jobs/a-9", "", nil, bearer(alpha)...); status != http.StatusOK {
		t.Errorf("alpha reads its job: %d %s", status, data)
	}
}
