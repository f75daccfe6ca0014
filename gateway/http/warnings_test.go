package api

import (
	"bytes"
	"strings"
	"testing"
)

// An answer to a problem the task archive's task.yaml does not have is
// queued all the same, and the 202 says so; a job whose answers all match
// has no warnings.
func TestSubmitWarnsOfAnswersToUnknownProblems(t *testing.T) {
	e := newEnv(t, Options{AdminToken: testToken})
	e.waitReady()
	files := map[string]string{
		"task.yaml": "environment_id: default\nproblems:\n  q1:\n    type: code\n    name: Q1\n",
		"run":       "#!/bin/sh\nfeedback-result success\n",
	}
	archive := tarGz(t, files, nil)
	cases := []struct {
		id, inputs, warning string
	}{
		{"warn-1", `{"q1": "x", "qq": "y", "@lang": "fr"}`, `problem \"qq\" is not one of the task's (did you mean \"q1\"?) (it has q1)`},
		{"warn-2", `{"q1": "x"}`, ""},
	}
	for _, c := range cases {
		ct, body := multipartBody(t,
			[3]string{"job", "", `{"job_id": "` + c.id + `", "inputs": ` + c.inputs + `}`},
			[3]string{"task", "task.tgz", string(archive)})
		status, data := e.call("POST", "/api/v1/jobs", ct, bytes.NewReader(body))
		if status != 202 {
			t.Fatalf("%s: %d %s", c.id, status, data)
		}
		if got := string(data); c.warning == "" && strings.Contains(got, "warnings") || !strings.Contains(got, c.warning) {
			t.Errorf("%s: answered %s, want the warning %s", c.id, got, c.warning)
		}
	}
}
