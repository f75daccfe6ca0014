package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// TestResultJSON_Shape pins the result JSON of DESIGN.md §6: keys, order,
// empty objects, and the archive as base64 or null.
func TestResultJSON_Shape(t *testing.T) {
	t.Parallel()
	done := &messages.BackendJobDone{JobID: "j1", JobResult: messages.JobResult{
		Result:   messages.Result{Status: messages.StatusSuccess, Text: "<b>ok</b>"},
		Grade:    100,
		Problems: map[string]messages.Result{"q1": {Status: messages.StatusSuccess, Text: "fine"}},
	}}
	var buf bytes.Buffer
	if err := printJSON(&buf, newResultJSON(done)); err != nil {
		t.Fatal(err)
	}
	want := `{
  "job_id": "j1",
  "status": "success",
  "text": "<b>ok</b>",
  "grade": 100,
  "problems": {
    "q1": {
      "status": "success",
      "text": "fine"
    }
  },
  "tests": {},
  "custom": {},
  "state": "",
  "archive": null,
  "stdout": "",
  "stderr": ""
}
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}

	done.Archive = []byte{0x1f, 0x8b, 0}
	buf.Reset()
	if err := printJSON(&buf, newResultJSON(done)); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back["archive"] != "H4sA" {
		t.Errorf("archive = %v, want base64 H4sA", back["archive"])
	}
}

func TestPrintResult(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	err := printResult(&buf, &messages.BackendJobDone{JobID: "j1", JobResult: messages.JobResult{
		Result:   messages.Result{Status: messages.StatusFailed, Text: "Wrong answer.\nTry again."},
		Grade:    42.5,
		Problems: map[string]messages.Result{"q1": {Status: messages.StatusFailed, Text: "off by one"}},
		Stderr:   "trace",
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"job         j1", "status      failed", "grade       42.5", "problem q1  failed  off by one", "Wrong answer.\nTry again.", "--- stderr\ntrace"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, buf.String())
		}
	}
}
