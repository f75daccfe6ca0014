package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The checks themselves are tested in internal/taskfile; these tests
// check the commands' output, exit status and bounds without a backend.

func TestTaskCheck_Offline(t *testing.T) {
	isolate(t)
	code, out, errOut := runCmd(t.Context(), "task", "check", "--offline", filepath.Join("..", "..", "examples", "hello"))
	if code != exitOK || !strings.Contains(out, "docker/default, 4 sample answer(s): 0 error(s), 0 warning(s)") ||
		!strings.Contains(out, "not checked (--offline)") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	bad := filepath.Join("..", "..", "internal", "taskfile", "testdata", "badtask")
	code, out, errOut = runCmd(t.Context(), "task", "check", "--offline", bad)
	if code != exitFailure || !strings.Contains(out, filepath.Join(bad, "task.yaml")+`:5: error: unknown key enviroment_id (did you mean "environment_id"?)`) ||
		!strings.Contains(errOut, "error(s)") {
		t.Errorf("bad task: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	code, out, _ = runCmd(t.Context(), "task", "check", "--offline", "--json", bad)
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitFailure {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	if rep.Errors < 20 || rep.Warnings < 5 || rep.Findings[0].File == "" || rep.Environment != "docker/default" {
		t.Errorf("--json report: %+v", rep)
	}
}

// TestTaskCheck_NoBackend: without an installation the environment is
// not checked, said so, and the check still passes, within a few seconds.
func TestTaskCheck_NoBackend(t *testing.T) {
	isolate(t)
	start := time.Now()
	code, out, errOut := runCmd(t.Context(), "task", "check", "--nats-url", "nats://"+freeAddr(t), filepath.Join("..", "..", "examples", "hello"))
	if code != exitOK || !strings.Contains(out, "info: could not check that an agent offers environment docker/default") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if d := time.Since(start); d > offeredTimeout+5*time.Second {
		t.Errorf("took %v without a backend", d)
	}
}

func TestTaskTest_Refused(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "run"), "#!/bin/sh\n")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{dir}, exitFailure, "no sample answers to run in tests/*.yaml"},
		{[]string{"--run", "a(", dir}, exitUsage, "--run"},
		{[]string{"--parallel", "0", dir}, exitUsage, "--parallel 0"},
		{[]string{filepath.Join(dir, "nope")}, exitFailure, "task folder"},
	} {
		code, _, errOut := runCmd(t.Context(), append([]string{"task", "test"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("task test %v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

// TestTaskCheck_UnreadableYAML: a task.yaml that is not YAML names no
// environment ingo could read, so the check must not report on
// docker/default (the defaults) as if the task named it.
func TestTaskCheck_UnreadableYAML(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "run"), "#!/bin/sh\nfeedback-result success\n")
	writeFile(t, filepath.Join(dir, "task.yaml"), "environment_type: docker\nenvironment_id: cpp\nproblems:\n    code: {type: code}\n  bad: indent\n")
	code, out, errOut := runCmd(t.Context(), "task", "check", "--offline", dir)
	if code != exitFailure || !strings.Contains(out, "not valid YAML") ||
		!strings.Contains(out, "environment not checked: task.yaml could not be read") ||
		!strings.Contains(out, ": environment unknown, 0 sample answer(s)") || strings.Contains(out, "docker/default") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, _ = runCmd(t.Context(), "task", "check", "--offline", "--json", dir)
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitFailure || rep.Environment != "" {
		t.Errorf("--json: exit %d, %v, environment %q\n%s", code, err, rep.Environment, out)
	}
}
