package api

import (
	"context"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
)

// TestPythonClient drives a whole job from another language: a Python 3
// script using only the standard library and a frontend token submits, follows the event
// stream to done and reads the result.
func TestPythonClient(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: cannot run testdata/client.py")
	}
	e := newEnv(t, Options{})
	e.waitReady()
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/client.py", e.url, e.token(apitoken.RoleFrontend, "python"))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("client.py: %v\n%s%s", err, out, stderr)
	}
	t.Logf("client.py printed %s", out)
	var got struct {
		JobID  string         `json:"job_id"`
		Events []string       `json:"events"`
		Status string         `json:"status"`
		Result map[string]any `json:"result"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if got.Status != "done" || len(got.Events) < 2 || got.Events[0] != "queued" || got.Events[len(got.Events)-1] != "done" {
		t.Errorf("events %v, status %s", got.Events, got.Status)
	}
	r := got.Result
	if r["job_id"] != got.JobID || r["status"] != "success" || r["text"] != "Hello, Ada!" || r["grade"] != 75.0 ||
		get(r, "custom", "echo", "input", "name") != "Ada" || get(r, "custom", "echo", "input", "code", "filename") != "hello.py" {
		t.Errorf("result %v", r)
	}
	if err := e.doc.validate(e.doc.component("Result"), toAny(t, r), "result"); err != nil {
		t.Errorf("result does not match the Result schema: %v", err)
	}
}

func toAny(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
