package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
)

// TestRacingSubmissionsOfOneIDKeepTheWinnersJob: two tokens submitting
// the same job id at once. Both passed the "is it known?" check before
// either registered the id; the loser's refusal (duplicate_job from the
// client library or the backend) then forgot the record the winner had
// registered, so the winner's own job answered 404 to it (GET, events,
// kill) while it waited and ran, and the loser could for a while own the
// winner's record. The winner must keep its job, and the loser never see
// it.
func TestRacingSubmissionsOfOneIDKeepTheWinnersJob(t *testing.T) {
	e := newEnv(t, Options{})
	e.waitReady()
	toks := []string{e.token(apitoken.RoleFrontend, "alpha"), e.token(apitoken.RoleFrontend, "beta")}
	const ids = 200
	winners := make([]int, ids) // index of the token answered 202, -1 none
	for i := range winners {
		winners[i] = -1
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range ids {
		body, err := json.Marshal(e.job(map[string]any{"job_id": fmt.Sprintf("race-%d", i),
			"inputs": map[string]any{"@fake": map[string]any{"hang": true}}}))
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		for k, tok := range toks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				status, _ := e.call("POST", "/api/v1/jobs", "application/json", bytes.NewReader(body), bearer(tok)...)
				if status == http.StatusAccepted {
					mu.Lock()
					if winners[i] != -1 {
						t.Errorf("race-%d: both tokens were answered 202", i)
					}
					winners[i] = k
					mu.Unlock()
				}
			}()
		}
		close(start)
	}
	wg.Wait()
	for i, w := range winners {
		id := fmt.Sprintf("race-%d", i)
		if w == -1 {
			t.Errorf("%s: neither token was answered 202", id)
			continue
		}
		if status, data := e.call("GET", "/api/v1/jobs/"+id, "", nil, bearer(toks[w])...); status != http.StatusOK {
			t.Errorf("%s: the token whose submission was accepted reads it: %d %s", id, status, data)
		}
		if status, _ := e.call("GET", "/api/v1/jobs/"+id, "", nil, bearer(toks[1-w])...); status != http.StatusNotFound {
			t.Errorf("%s: the other token reads it: %d, want 404", id, status)
		}
		if status, data := e.call("DELETE", "/api/v1/jobs/"+id, "", nil, bearer(toks[w])...); status != http.StatusAccepted {
			t.Errorf("%s: the token whose submission was accepted kills it: %d %s", id, status, data)
		}
	}
}
