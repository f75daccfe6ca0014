package docker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

const feedbackRun = `#!/bin/bash
set -e
name=$(getinput q1)
feedback-result failed
feedback-grade 42.5
feedback-msg -m "Hello $name"
feedback-result -i q1 success
feedback-msg -i q1 -m "q1 ok"
feedback-result -i q2 failed
feedback-msg -i q2 -m "q2 wrong"
tag-set compiled true
tag "free tag"
feedback-custom score 56
feedback-custom -j obj '{"a": [1, 2]}'
feedback-state "next-state"
echo "archived $(id -u):$(id -g)" > /archive/log.txt
cat data/extra.txt >> /archive/log.txt
`

func TestRun_ShellFeedbackFieldByField(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	b := task(t, map[string]string{"run": feedbackRun, "data/extra.txt": "extra file\n"})
	res, _ := runJob(t, r, newJob(r, b, map[string]any{"q1": "Alice", "@username": "alice"}))

	if res.Result.Status != messages.StatusFailed || res.Result.Text != "Hello Alice" {
		t.Errorf("result = %+v, want failed / Hello Alice", res.Result)
	}
	if res.Grade != 42.5 {
		t.Errorf("grade = %v, want 42.5", res.Grade)
	}
	want := map[string]messages.Result{
		"q1": {Status: messages.StatusSuccess, Text: "q1 ok"},
		"q2": {Status: messages.StatusFailed, Text: "q2 wrong"},
	}
	for k, w := range want {
		if res.Problems[k] != w {
			t.Errorf("problem %s = %+v, want %+v", k, res.Problems[k], w)
		}
	}
	if len(res.Problems) != 2 {
		t.Errorf("problems = %v, want 2", res.Problems)
	}
	if res.Tests["compiled"] != true {
		t.Errorf("tests[compiled] = %v, want true (tests %v)", res.Tests["compiled"], res.Tests)
	}
	found := false
	for k, v := range res.Tests {
		if strings.HasPrefix(k, "*auto-tag-") && v == "free tag" {
			found = true
		}
	}
	if !found {
		t.Errorf("no auto tag \"free tag\" in %v", res.Tests)
	}
	// feedback-custom's 56 is Python's int("56"): an integer, as INGInious' webapp gets it.
	if res.Custom["score"] != int64(56) {
		t.Errorf("custom[score] = %#v, want int64(56)", res.Custom["score"])
	}
	if obj, ok := res.Custom["obj"].(map[string]any); !ok || len(obj["a"].([]any)) != 2 {
		t.Errorf("custom[obj] = %#v", res.Custom["obj"])
	}
	if res.State != "next-state" {
		t.Errorf("state = %q", res.State)
	}
	if res.Stdout != "" || res.Stderr != "" {
		t.Errorf("stdout/stderr outside debug mode: %q %q", res.Stdout, res.Stderr)
	}
	files := untgz(t, res.Archive)
	if got := files["log.txt"]; got != "archived 4242:4242\nextra file\n" {
		t.Errorf("archive log.txt = %q (archive %v)", got, files)
	}
}

// untgz reads a tgz into name -> content.
func untgz(t *testing.T, data []byte) map[string]string {
	t.Helper()
	if len(data) == 0 {
		t.Fatal("no archive")
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[strings.TrimPrefix(h.Name, "./")] = string(b)
	}
}

func TestRun_Statuses(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	cases := []struct {
		name, run string
		want      messages.Status
		text      string
	}{
		{"failed", "#!/bin/sh\nfeedback-result failed\nfeedback-msg -m 'wrong answer'\n", messages.StatusFailed, "wrong answer"},
		{"error-no-feedback", "#!/bin/sh\nexit 0\n", messages.StatusError, "The grader did not give any feedback."},
		// The result comes out on stdout even when /.ingo cannot be written.
		{"result-despite-readonly-ingo", "#!/bin/sh\nfeedback-result success\nchmod 0555 /.ingo\n", messages.StatusSuccess, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, _ := runJob(t, r, newJob(r, task(t, map[string]string{"run": tc.run}), nil))
			if res.Result.Status != tc.want || res.Result.Text != tc.text {
				t.Errorf("result = %+v, want %s %q", res.Result, tc.want, tc.text)
			}
		})
	}
}

func TestRun_CPUTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, root string }{
		{"cgroup", ""},
		// No readable cgroup (an agent in a container): the stats stream,
		// about one sample a second.
		{"stats-stream", "/nonexistent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newTestRuntime(t, Options{cgroupRoot: tc.root})
			job := newJob(r, task(t, map[string]string{"run": "#!/bin/bash\nwhile :; do :; done\n"}), nil)
			job.Limits.Time, job.Limits.HardTime = 2, 20
			// The CPU text, not the wall-clock one: the 2 s CPU limit
			// fired, long before the 20 s hard limit. No upper bound on
			// the wall time: under load a busy loop takes longer to use
			// 2 s of CPU, and that is right.
			res, d := runJob(t, r, job)
			if res.Result.Status != messages.StatusTimeout || res.Result.Text != textTimeout {
				t.Errorf("result = %+v, want the CPU timeout", res.Result)
			}
			// One CPU per job: 2 s of CPU cannot be used in less than 2 s.
			if d < 2*time.Second {
				t.Errorf("2 s of CPU used in %v: the job had more than one CPU", d)
			}
			t.Logf("CPU limit reached after %v of wall time", d)
		})
	}
}

func TestRun_HardTimeout(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	job := newJob(r, task(t, map[string]string{"run": "#!/bin/sh\nsleep 1000\n"}), nil)
	job.Limits.Time, job.Limits.HardTime = 10, 2
	res, d := runJob(t, r, job)
	if res.Result.Status != messages.StatusTimeout || res.Result.Text != textHardTime {
		t.Errorf("result = %+v, want the wall-clock timeout", res.Result)
	}
	if d < 2*time.Second {
		t.Errorf("ended after %v, before its 2 s hard limit", d)
	}
}
