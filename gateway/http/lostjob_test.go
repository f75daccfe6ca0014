package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestJobRefusedOnResubmissionEnds: a backend without its journal
// restarts and loses every job; the API's client submits them again, and
// the backend may refuse some for good (here its course's waiting cap).
// Before, such a job ended in the client without a result, and the API
// kept it "queued" forever, with its charge against its token's
// unfinished bytes; now it ends as crash, the refusal in its text.
func TestJobRefusedOnResubmissionEnds(t *testing.T) {
	capNow := 0
	e := newEnvWith(t, Options{}, false, func(c *backend.Config) { c.MaxWaitingPerCourse = capNow })
	e.waitReady()
	ids := []string{"lost-1", "lost-2", "lost-3"}
	for _, id := range ids {
		body, err := json.Marshal(e.job(map[string]any{"job_id": id, "course_id": "algo",
			"environment": "nobody-offers-it", "wait_for_environment": true}))
		if err != nil {
			t.Fatal(err)
		}
		if status, data := e.call("POST", "/api/v1/jobs", "application/json", bytes.NewReader(body)); status != 202 {
			t.Fatalf("submit %s: %d %s", id, status, data)
		}
	}
	e.sys.StopBackend()
	capNow = 1
	e.sys.StartBackend(false)

	ended := func() (n int, texts []string) {
		for _, id := range ids {
			_, data := e.call("GET", "/api/v1/jobs/"+id, "", nil)
			var v struct {
				Status string
				Result struct{ Status, Text string }
			}
			if err := json.Unmarshal(data, &v); err != nil {
				t.Fatal(err)
			}
			if v.Status == "done" {
				n++
				texts = append(texts, fmt.Sprintf("%s: %s", v.Result.Status, v.Result.Text))
			}
		}
		return n, texts
	}
	testutil.Eventually(t, wait, func() bool { n, _ := ended(); return n == 2 }, "two jobs refused on resubmission never ended")
	_, texts := ended()
	for _, text := range texts {
		if !strings.HasPrefix(text, "crash: ") || !strings.Contains(text, "refused it when it was sent again") {
			t.Errorf("result %q, want crash with the refusal", text)
		}
	}
}
