package helper

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// untar lists a base64 tgz: entry name -> content ("" for directories).
func untar(t *testing.T, b64 string) map[string]string {
	t.Helper()
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = string(body)
	}
}

func TestShellRunFileSetsEveryField(t *testing.T) {
	c := newContainer(t, job(map[string]any{
		"q1": "int main() { return 0; }",
		"q2": []string{"a", "b"},
		"up": map[string]any{"filename": "hello.c", "value": base64.StdEncoding.EncodeToString([]byte("#include <stdio.h>\n"))},
	}, 1<<20))
	c.task("run", `#!/bin/bash
set -eu
code=$(getinput q1)
[ "$code" = "int main() { return 0; }" ] || { feedback-msg -m "getinput q1 gave: $code"; exit 0; }
feedback-msg -i q2 -m "you chose $(getinput q2)"
feedback-result -i q2 success
feedback-result -i q1 failed
feedback-msg -i q1 -m "q1 text"
getinput up > student/upload.c
feedback-result success
feedback-grade 87.5
feedback-msg -m "Well done, $(getinput @username): $(getinput up:filename)"
tag-set compiled true
tag-set warnings false
tag "a bonus"
feedback-custom score 56
feedback-custom label hello
feedback-custom -j details '{"passed": [1, 2], "ok": true}'
feedback -c ratio:0.5
feedback-state "attempt-2"
archive -a student/upload.c -o uploads
echo log > "$INGO_HELPER_ROOT/archive/log.txt"
echo "to stdout"
echo "to stderr" >&2
exit 3
`, 0o755)
	r := c.result()

	if r.Result != "success" || r.Grade != 87.5 || r.State != "attempt-2" || r.ExitCode != 3 {
		t.Errorf("result, grade, state, exit_code = %q, %v, %q, %d", r.Result, r.Grade, r.State, r.ExitCode)
	}
	if r.Text != "Well done, alice: hello.c" {
		t.Errorf("text = %q", r.Text)
	}
	wantProblems := map[string]ProblemResult{
		"q1": {Status: "failed", Text: "q1 text"},
		"q2": {Status: "success", Text: `you chose ["a", "b"]`},
	}
	if !reflect.DeepEqual(r.Problems, wantProblems) {
		t.Errorf("problems = %+v, want %+v", r.Problems, wantProblems)
	}
	var auto []string
	for id, v := range r.Tests {
		if strings.HasPrefix(id, autoTagPrefix) {
			auto = append(auto, string(v))
		}
	}
	if string(r.Tests["compiled"]) != "true" || string(r.Tests["warnings"]) != "false" ||
		len(auto) != 1 || auto[0] != `"a bonus"` || len(r.Tests) != 3 {
		t.Errorf("tests = %s", mustJSON(r.Tests))
	}
	wantCustom := map[string]string{
		"score": `56`, "label": `"hello"`, "details": `{"ok":true,"passed":[1,2]}`, "ratio": `0.5`,
	}
	if got := rawStrings(r.Custom); !reflect.DeepEqual(got, wantCustom) {
		t.Errorf("custom = %v, want %v", got, wantCustom)
	}
	files := untar(t, r.Archive)
	wantFiles := map[string]string{"uploads/": "", "uploads/upload.c": "#include <stdio.h>\n", "log.txt": "log\n"}
	if !reflect.DeepEqual(files, wantFiles) {
		t.Errorf("archive = %q, want %q", files, wantFiles)
	}
	if r.Stdout != "to stdout\n" || r.Stderr != "to stderr\n" || len(r.Truncated) != 0 {
		t.Errorf("stdout, stderr, truncated = %q, %q, %v", r.Stdout, r.Stderr, r.Truncated)
	}
	// The upload is also a file.
	if got, err := os.ReadFile(filepath.Join(c.paths.Files, "up", "hello.c")); err != nil || string(got) != "#include <stdio.h>\n" {
		t.Errorf("materialised upload = %q, %v", got, err)
	}
}

func mustJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(data)
}

// rawStrings compacts raw JSON values for comparison.
func rawStrings(m map[string]json.RawMessage) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			out[k] = "INVALID " + string(v)
			continue
		}
		out[k] = b.String()
	}
	return out
}

func TestDefaultsWhenTheRunFileSetsLittle(t *testing.T) {
	tests := []struct {
		name      string
		script    string
		result    string
		text      string
		grade     float64
		wantCrash bool
	}{
		{name: "nothing", script: "true", result: "error", text: textNoFeedback},
		{name: "text only", script: "feedback-msg -m 'half done'", result: "error", text: "half done"},
		{name: "grade only", script: "feedback-grade 12", result: "error", text: textNoResult, grade: 12},
		{name: "success", script: "feedback-result success", result: "success", grade: 100},
		{name: "failed", script: "feedback-result failed", result: "failed", grade: 0},
		{name: "unknown result", script: "feedback-result great", result: "crash", text: `[ingo: the grader gave the unknown result "great", shown as crash]` + "\n\n"},
		{name: "problem text only", script: "feedback-msg -i q1 -m hi", result: "error", text: textNoResult},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newContainer(t, job(nil, 1<<20))
			c.task("run", "#!/bin/sh\n"+tt.script+"\n", 0o755)
			r := c.result()
			if r.Result != tt.result || r.Text != tt.text || r.Grade != tt.grade {
				t.Errorf("got %q %q %v, want %q %q %v", r.Result, r.Text, r.Grade, tt.result, tt.text, tt.grade)
			}
			if r.Archive != "" {
				t.Errorf("archive present for an empty /archive")
			}
		})
	}
}

func TestHelperFailuresAreCrashResults(t *testing.T) {
	tests := []struct {
		name  string
		setup func(c *container)
		want  string // in the text
	}{
		{"no run file", func(c *container) {}, "No run file"},
		{"malformed input.json", func(c *container) {
			c.writeRaw(InputFile, `{"input": {"q1": `, 0o644)
			c.task("run", "#!/bin/sh\nfeedback-result success\n", 0o755)
		}, "could not read its job input"},
		{"missing input.json", func(c *container) {
			os.Remove(c.paths.Input)
			c.task("run", "#!/bin/sh\nfeedback-result success\n", 0o755)
		}, "could not read its job input"},
		{"input.json without input", func(c *container) {
			c.writeRaw(InputFile, `{"limits": {}}`, 0o644)
			c.task("run", "#!/bin/sh\nfeedback-result success\n", 0o755)
		}, `no "input" object`},
		// Before, "/task/run: no such file or directory", of a file that
		// is there.
		{"interpreter missing", func(c *container) {
			c.task("run", "#!/nonexistent/interpreter -u\n", 0o755)
		}, `cannot be started: its interpreter "/nonexistent/interpreter" (its first line) is not in this environment`},
		{"ssh debug", func(c *container) {
			in := job(nil, 1<<20)
			in["debug"] = "ssh"
			c.writeRaw(InputFile, mustJSON(in), 0o644)
			c.task("run", "#!/bin/sh\nfeedback-result success\n", 0o755)
		}, "cannot relay SSH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newContainer(t, job(nil, 1<<20))
			tt.setup(c)
			r := c.result()
			if r.Result != "crash" || !strings.Contains(r.Text, tt.want) || r.Grade != 0 {
				t.Errorf("got %q %q grade %v, want crash with %q", r.Result, r.Text, r.Grade, tt.want)
			}
		})
	}
}

func TestUnwritableResultFailsTheHelper(t *testing.T) {
	c := newContainer(t, job(nil, 1<<20))
	c.task("run", "#!/bin/sh\nfeedback-result success\n", 0o755)
	// A directory where result.json goes: the rename cannot replace it.
	if err := os.MkdirAll(filepath.Join(c.paths.Result, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, stderr := c.run()
	if code == 0 || !strings.Contains(stderr, "writing the result") {
		t.Errorf("exit %d, stderr %q: want a failure naming the result", code, stderr)
	}
}

// TestCourseCommonRunFile: as INGInious, a task without a run file uses
// its course's common one; the task's own wins when both exist.
func TestCourseCommonRunFile(t *testing.T) {
	c := newContainer(t, job(nil, 1<<20))
	c.writeRaw(CommonDir+"/run", "#!/bin/sh\nfeedback-result success\nfeedback-msg -m \"common in $(pwd)\"\n", 0o755)
	if r := c.result(); r.Result != "success" || r.Text != "common in "+c.paths.Task {
		t.Errorf("common run file: %q %q", r.Result, r.Text)
	}
	c.task("run", "#!/bin/sh\nfeedback-result failed\n", 0o755)
	if r := c.result(); r.Result != "failed" {
		t.Errorf("the task's own run file: %q %q", r.Result, r.Text)
	}
}
