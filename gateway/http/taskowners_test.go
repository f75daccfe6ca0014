package api

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
)

// TestFrontendTokensUseOnlyTheirTasks: every token shares the API's NATS
// identity, so the API itself keeps one course's task folder (hidden
// tests included) from grading another course's code. A frontend token
// that learnt another's digest gets the 404 of a task it never stored;
// storing the same folder itself makes the digest its own; an admin may
// name any.
func TestFrontendTokensUseOnlyTheirTasks(t *testing.T) {
	e := newEnv(t, Options{})
	e.waitReady()
	tok := func(name string) []string {
		t.Helper()
		tok, err := apitoken.Issue(e.key, apitoken.RoleFrontend, name, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return bearer(tok)
	}
	alpha, beta := tok("alpha"), tok("beta")
	hidden := tarGz(t, map[string]string{"run": "#!/bin/sh\nfeedback-result success\n", "hidden/expected.txt": "the answer is 42\n"}, nil)
	store := func(who []string) string {
		t.Helper()
		status, data := e.call("POST", "/api/v1/tasks", "application/gzip", bytes.NewReader(hidden), who...)
		if status != 201 {
			t.Fatalf("POST /api/v1/tasks: %d %s", status, data)
		}
		return decode(t, data)["task_bundle"].(string)
	}
	digest := store(alpha)
	n := 0
	submit := func(who []string, digest string) (int, map[string]any) {
		t.Helper()
		n++
		status, data := e.postJSON("/api/v1/jobs", map[string]any{"job_id": fmt.Sprintf("job-%d", n), "task_bundle": digest,
			"inputs": map[string]any{"@fake": map[string]any{"result": "success"}}}, who...)
		return status, decode(t, data)
	}
	for _, tc := range []struct {
		name   string
		who    []string
		digest string
		want   int
	}{
		{"the course that stored it", alpha, digest, 202},
		{"another course that learnt the digest", beta, digest, 404},
		{"a digest nobody stored", alpha, "sha256:" + fmt.Sprintf("%064x", 7), 404},
		{"an admin", bearer(testToken), digest, 202},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := submit(tc.who, tc.digest)
			if status != tc.want {
				t.Fatalf("%d %v, want %d", status, body, tc.want)
			}
			if tc.want == 404 {
				if e, _ := body["error"].(map[string]any); e["code"] != "unknown_task" {
					t.Errorf("error %v, want code unknown_task", body["error"])
				}
			}
		})
	}
	t.Run("the same folder stored by the other course", func(t *testing.T) {
		if got := store(beta); got != digest {
			t.Fatalf("digest %s, want %s", got, digest)
		}
		if status, body := submit(beta, digest); status != 202 {
			t.Fatalf("%d %v", status, body)
		}
	})
}

// TestTaskOwnersBound: each name keeps its most recently used tasks,
// and one name's flood of uploads never evicts another's.
func TestTaskOwnersBound(t *testing.T) {
	o := newTaskOwners(3)
	o.add("victim", "v")
	for i := range 4 {
		o.add("a", fmt.Sprint(i))
		if i == 2 {
			o.has("a", "0") // used: kept over 1
		}
	}
	for i := range 1000 {
		o.add("flood", fmt.Sprint(i))
	}
	for d, want := range map[string]bool{"0": true, "1": false, "2": true, "3": true} {
		if o.has("a", d) != want {
			t.Errorf("has %s: %v, want %v", d, !want, want)
		}
	}
	if o.has("b", "0") {
		t.Error("b owns a's task")
	}
	if !o.has("victim", "v") {
		t.Error("another name's uploads evicted the victim's task")
	}
}
