package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// holdUpload opens a connection that announces a body of MaxBody for POST
// /api/v1/tasks with tok and sends none of it, and returns once the
// server holds its reservation for owner. The connection closes with the
// test.
func (e *env) holdUpload(tok, owner string) {
	e.t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	before := e.srv.uploads.holds(owner)
	fmt.Fprintf(c, "POST /api/v1/tasks HTTP/1.1\r\nHost: ingo\r\nAuthorization: Bearer %s\r\nContent-Type: application/gzip\r\nContent-Length: %d\r\n\r\n",
		tok, e.srv.opts.MaxBody)
	testutil.Eventually(e.t, wait, func() bool { return e.srv.uploads.holds(owner) > before },
		"the server never reserved the announced upload of %s", owner)
}

// postJobRaw posts a JSON job with tok and returns the status, the
// Retry-After header and the body, or fails the test when no answer comes
// within wait.
func (e *env) postJobRaw(tok string, job map[string]any) (int, string, []byte) {
	e.t.Helper()
	b, err := json.Marshal(job)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", e.url+"/api/v1/jobs", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	client := &http.Client{Timeout: wait}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("a small job got no answer while another upload holds memory: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), data
}

// TestSlowUploadDoesNotBlockOtherTokens: one frontend's upload that
// announces 64 MiB and never sends it used to hold the whole upload
// memory, and another frontend's small JSON job waited behind it
// unanswered (a review measured no answer in 90 s). Now a token holds
// half the budget at most, a small job that fits is taken at once, and
// one that cannot get its share within UploadWait gets 503 with
// Retry-After instead of waiting.
func TestSlowUploadDoesNotBlockOtherTokens(t *testing.T) {
	old := bodyStall
	bodyStall = time.Hour // the holders hold for the whole test
	t.Cleanup(func() { bodyStall = old })

	for _, tc := range []struct {
		name string
		// holders hold an announced upload each, by frontend name.
		holders []string
		// sender posts the small job.
		sender     string
		status     int
		retryAfter string
	}{
		{"another token's small job goes through", []string{"slow"}, "victim", http.StatusAccepted, ""},
		{"the holder's own next job waits its share, then 503", []string{"slow"}, "slow", http.StatusServiceUnavailable, "1"},
		{"two tokens holding everything: 503, not a queue", []string{"slow", "slower"}, "victim", http.StatusServiceUnavailable, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{UploadWait: 300 * time.Millisecond})
			e.waitReady()
			tokens := map[string]string{}
			tok := func(name string) string {
				if tokens[name] == "" {
					tokens[name] = e.token(apitoken.RoleFrontend, name)
				}
				return tokens[name]
			}
			for _, h := range tc.holders {
				e.holdUpload(tok(h), principal{role: apitoken.RoleFrontend, name: h}.owner())
			}
			status, retry, data := e.postJobRaw(tok(tc.sender), e.job(nil))
			if status != tc.status {
				t.Fatalf("the small job: %d %.300s, want %d", status, data, tc.status)
			}
			if retry != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", retry, tc.retryAfter)
			}
			if status == http.StatusServiceUnavailable && !strings.Contains(string(data), `"busy"`) {
				t.Errorf("503 without code busy: %s", data)
			}
		})
	}
}
