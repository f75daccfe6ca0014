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
	"github.com/ingo-grader/ingo/internal/testutil"
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

// TestUnfinishedBytesOfUnansweredSubmissions: a submission the backend
// did not answer may still be queued there, so its charge stays until the
// job's result arrives, its owner's retry takes it over (charged the
// larger of the two), or abandonedTTL passes. A client that hangs up
// right after its body no longer makes its submission unanswered: the API
// still waits for the backend's answer, and the job is followed (and
// charged) as any other.
func TestUnfinishedBytesOfUnansweredSubmissions(t *testing.T) {
	e := newEnv(t, Options{MaxUnfinishedBytes: 1 << 20})
	e.waitReady()
	flood := e.token(apitoken.RoleFrontend, "flood")
	body := func(id string, size int) []byte {
		data, err := json.Marshal(e.job(map[string]any{"job_id": id, "inputs": map[string]any{
			"@fake": map[string]any{"hang": true},
			"f":     map[string]any{"filename": "f", "content": base64.StdEncoding.EncodeToString(make([]byte, size))}}}))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	hangUp := func(id string, size int) {
		ctx, cancel := context.WithCancel(t.Context())
		req := httptest.NewRequest("POST", "/api/v1/jobs", cancelAtEnd{bytes.NewReader(body(id, size)), cancel}).WithContext(ctx)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+flood)
		e.srv.Handler().ServeHTTP(httptest.NewRecorder(), req)
	}
	post := func(id string, size int) (int, []byte) {
		return e.call("POST", "/api/v1/jobs", "application/json", bytes.NewReader(body(id, size)), bearer(flood)...)
	}

	// Three clients hang up after 300 KiB each: the jobs are queued and
	// charged; a fourth of 300 KiB passes the bound.
	for i := range 3 {
		hangUp(fmt.Sprintf("hung-%d", i), 300<<10)
	}
	if status, data := e.call("GET", "/api/v1/jobs/hung-0", "", nil, bearer(flood)...); status != 200 {
		t.Errorf("a hung-up submission's job: %d %s, want it queued", status, data)
	}
	if status, data := post("after", 300<<10); status != 429 {
		t.Errorf("after 3 hung-up submissions of 300 KiB within 1 MiB: %d %s, want 429", status, data)
	}
	for i := range 3 {
		if status, data := e.call("DELETE", fmt.Sprintf("/api/v1/jobs/hung-%d", i), "", nil); status != 202 {
			t.Fatalf("kill: %d %s", status, data)
		}
	}
	testutil.Eventually(t, wait, func() bool { status, _ := post("free", 300<<10); return status == 202 },
		"the killed jobs' charges were never released")

	// An unanswered tiny submission, then its retry with a larger body:
	// charged the larger, so refused while 600 KiB more would pass.
	// The answer may come within the nanosecond's wait on a loaded
	// machine (a race -race CI runs lose): then another id.
	answered := unanswered(t)
	small := ""
	for i := 0; small == "" && i < 20; i++ {
		id := fmt.Sprintf("small-%d", i)
		if status, data := post(id, 1); status == 504 {
			small = id
		} else if status != 202 {
			t.Fatalf("unanswered: %d %s, want 504", status, data)
		}
	}
	if small == "" {
		t.Fatal("20 submissions in a row were answered within a nanosecond")
	}
	answered()
	if status, data := post("held", 600<<10); status != 202 {
		t.Fatalf("held: %d %s", status, data)
	}
	if status, data := post(small, 600<<10); status != 429 {
		t.Errorf("the retry of an unanswered tiny submission with 600 KiB more: %d %s, want 429", status, data)
	}
	if status, data := post(small, 1); status != 202 {
		t.Errorf("its retry as it was: %d %s, want 202 (adopted)", status, data)
	}
}

// TestAbandonedChargesExpire: an unanswered submission's charge goes
// after abandonedTTL when neither its result nor a retry came (the
// backend may never have had it); a retry before then takes it over.
func TestAbandonedChargesExpire(t *testing.T) {
	st := newStore(1 << 30)
	t0 := time.Now()
	for i, id := range []string{"a", "b", "c"} {
		r, _ := st.claim(id, "tok", "c1", t0.Add(time.Duration(i)*time.Minute), 100, 1000)
		st.abandon(r, t0.Add(time.Duration(i)*time.Minute))
	}
	if r, _ := st.claim("b", "tok", "c1", t0.Add(3*time.Minute), 100, 1000); r == nil { // b's retry
		t.Fatal("the retry was refused")
	}
	if got := st.unfinished["tok"]; got != 300 {
		t.Fatalf("held %d, want 300", got)
	}
	st.expireAbandonedLocked(t0.Add(abandonedTTL + time.Minute + time.Second)) // a's and b's first entries are old
	if got := st.unfinished["tok"]; got != 200 {
		t.Errorf("after a's time: held %d, want 200 (b's retry and c)", got)
	}
	st.expireAbandonedLocked(t0.Add(abandonedTTL + 3*time.Minute))
	if got := st.unfinished["tok"]; got != 100 {
		t.Errorf("after c's time: held %d, want 100 (b's retry)", got)
	}
}
