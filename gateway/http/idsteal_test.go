package api

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
)

// TestSubmittingAnotherTokensIDAfterRestart: after a restart of the API,
// another token's job still running is in no record of the new process,
// so a submission of its id reached the backend; news of the running job
// (its result) that crossed the backend's duplicate refusal was taken by
// the client as the answer to that submission, and the submitting token
// got the other token's job: its result, and the right to kill it.
func TestSubmittingAnotherTokensIDAfterRestart(t *testing.T) {
	e := newEnvWith(t, Options{ClientID: "api-steal"}, false)
	e.waitReady()
	victim := e.token(apitoken.RoleFrontend, "algo")
	e.runningJob(victim, "secret-1", map[string]any{"sleep": "1500ms"})
	e2 := restartAPI(t, e, "api-steal")
	thief := e2.token(apitoken.RoleFrontend, "java")

	// The thief submits the id over and over until the job is done.
	stop := time.Now().Add(4 * time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var taken []string
	codes := map[int]int{}
	for range 4 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				status, data := e2.postJSON("/api/v1/jobs", e2.job(map[string]any{"job_id": "secret-1"}), bearer(thief)...)
				mu.Lock()
				codes[status]++
				if codes[status] == 1 {
					t.Logf("%d %s", status, data)
				}
				mu.Unlock()
				if status == 202 {
					mu.Lock()
					taken = append(taken, string(data))
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	t.Log(codes)
	if len(taken) > 0 {
		_, data := e2.call("GET", "/api/v1/jobs/secret-1", "", nil, bearer(thief)...)
		t.Errorf("another token's job id was accepted as the thief's: %s; its GET: %s", taken, data)
	}
	if _, data := e2.call("GET", "/api/v1/jobs/secret-1", "", nil, bearer(thief)...); strings.Contains(string(data), `"status":"success"`) {
		t.Errorf("the thief reads the victim's result: %s", data)
	}
}
