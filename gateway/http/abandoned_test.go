package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
)

// cancelAtEnd ends its request's context once the body is read: the
// client hangs up as soon as it has sent its submission.
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

// unanswered makes the next submissions go unanswered (the backend still
// gets them) until the test ends or the returned func is called.
func unanswered(t *testing.T) func() {
	submitDeadline = time.Nanosecond
	stop := func() { submitDeadline = 0 }
	t.Cleanup(stop)
	return stop
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

	answered := unanswered(t)
	if status, data := e.call("POST", "/api/v1/jobs", "application/json", bytes.NewReader(body), bearer(alpha)...); status != http.StatusGatewayTimeout {
		t.Fatalf("the unanswered submission: %d %s, want 504", status, data)
	}
	answered()

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
