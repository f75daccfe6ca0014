package main

import (
	"bytes"
	"encoding/json"
	"regexp"
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
  "stderr": "",
  "usage": null
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

func TestPrintResult_Usage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		usage *messages.Usage
		want  []string
		not   []string
	}{
		{"unknown", nil, nil, []string{"used", "students"}},
		{"grading container", &messages.Usage{WallTime: 1.28, CPUTime: 1.0234, MemoryPeak: 53.2},
			[]string{"used 1.02 s CPU, 53 MiB peak, 1.3 s wall"}, []string{"students"}},
		{"a figure unknown", &messages.Usage{WallTime: 0.5, CPUTime: 0.25},
			[]string{"used 0.25 s CPU, 0.5 s wall"}, []string{"peak"}},
		{"students", &messages.Usage{CPUTime: 0.1, MemoryPeak: 12,
			Students: &messages.StudentUsage{Containers: 2, WallTime: 7.41, CPUTime: 1.194, MemoryPeak: 68.23}},
			[]string{"used 0.10 s CPU, 12 MiB peak", "students 2 containers, 1.19 s CPU, 68 MiB peak, 7.4 s wall"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			err := printResult(&buf, &messages.BackendJobDone{JobID: "j1", JobResult: messages.JobResult{
				Result: messages.Result{Status: messages.StatusSuccess}, Grade: 100, Usage: tc.usage}})
			if err != nil {
				t.Fatal(err)
			}
			// The table's column width depends on its rows: compare
			// with single spaces.
			out := regexp.MustCompile(` +`).ReplaceAllString(buf.String(), " ")
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, buf.String())
				}
			}
			for _, not := range tc.not {
				if strings.Contains(buf.String(), not) {
					t.Errorf("output has %q:\n%s", not, buf.String())
				}
			}
		})
	}
}
