package api

import (
	"net/http"
	"testing"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
)

// TestPagedQueueShareOfOneToken: one token's paged queue requests take
// a share of the time, not the API's whole share of the backend: past it
// they are answered 503 throttled with Retry-After, and another token's
// are answered meanwhile. Before, a token sending them a few times a
// second (0.1 s each with 5,000 waiting jobs) used the API's share, and
// every other token's queue views, admins' included, were refused.
func TestPagedQueueShareOfOneToken(t *testing.T) {
	e := newEnv(t, Options{AdminToken: testToken})
	e.waitReady()
	front := bearer(e.token(apitoken.RoleFrontend, "course-a"))
	throttled := 0
	for range int(pagedShare.Burst/pagedShare.Least) + 50 {
		req, err := http.NewRequest("GET", e.url+"/api/v1/queue?limit=10", nil)
		if err != nil {
			t.Fatal(err)
		}
		setHeaders(req, front)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
		case 503:
			if resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			throttled++
		default:
			t.Fatalf("GET queue: %d", resp.StatusCode)
		}
	}
	if throttled == 0 {
		t.Error("one token's flood of paged requests was never throttled")
	}
	if status, data := e.call("GET", "/api/v1/queue?limit=10", "", nil); status != 200 {
		t.Errorf("another token's paged request meanwhile: %d %s", status, data)
	}
}
