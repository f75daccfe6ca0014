package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// writeCourse makes an INGInious course folder COURSE/greet whose run file
// greets with a function of COURSE/$common and writes to stdout and
// stderr; it returns the course and task folders.
func writeCourse(t *testing.T, withCommon bool) (course, task string) {
	t.Helper()
	course = filepath.Join(t.TempDir(), "intro")
	files := map[string]string{
		"greet/task.yaml": "environment_type: docker\nenvironment_id: default\n" +
			"environment_parameters:\n  limits: {time: 10, hard_time: 30, memory: 128}\n",
		"greet/run": "#!/bin/sh\n. /course/common/lib.sh\nname=$(getinput name)\n" +
			"echo \"greeting $name\"\necho \"lib loaded\" >&2\n" +
			"feedback-result success\nfeedback-msg -m \"$(greet \"$name\")\"\n",
	}
	if withCommon {
		files["$common/lib.sh"] = "greet() { echo \"Hello, $1!\"; }\n"
	}
	for name, content := range files {
		writeFile(t, filepath.Join(course, name), content)
	}
	return course, filepath.Join(course, "greet")
}

func TestBuildJob_CourseDirAndDebug(t *testing.T) {
	t.Parallel()
	course, task := writeCourse(t, true)
	now := time.Now()
	req, err := buildJob(task, submitOptions{courseDir: course, debug: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	if req.CommonDir != filepath.Join(course, "$common") || req.CourseID != "intro" || req.TaskID != "greet" || req.Debug != messages.DebugOn {
		t.Errorf("common %q, course %q, task %q, debug %q", req.CommonDir, req.CourseID, req.TaskID, req.Debug)
	}
	// --ssh wins over --debug; without --course-dir no $common is packed.
	req, err = buildJob(task, submitOptions{debug: true, ssh: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	if req.CommonDir != "" || req.CourseID != "intro" || req.Debug != messages.DebugSSH {
		t.Errorf("without --course-dir: common %q, course %q, debug %q", req.CommonDir, req.CourseID, req.Debug)
	}
	// A course without $common is still a course, as for the bridge.
	bare, _ := writeCourse(t, false)
	req, err = buildJob(task, submitOptions{courseDir: bare}, now)
	if err != nil || req.CommonDir != "" || req.Debug != messages.DebugOff {
		t.Errorf("course without $common: %v, common %q, debug %q", err, req.CommonDir, req.Debug)
	}
	for _, dir := range []string{filepath.Join(course, "nope"), filepath.Join(task, "run")} {
		if _, err := buildJob(task, submitOptions{courseDir: dir}, now); err == nil || !strings.Contains(err.Error(), "--course-dir") {
			t.Errorf("--course-dir %s: %v, want an error naming the flag", dir, err)
		}
	}
}

// TestSubmit_DebugDocker grades a course task on a real Docker agent with
// `ingo submit --course-dir DIR -i name=@FILE --debug`: the run file finds
// $common at /course/common, reads the answer from the file, and its
// stdout and stderr come back; without --debug they do not.
func TestSubmit_DebugDocker(t *testing.T) {
	testutil.RequireImage(t, "ingo/env-default")
	client := startSystem(t, "--runtime", "docker", "--concurrency", "1")
	awaitDefault(t, client)
	course, task := writeCourse(t, true)
	answer := writeFile(t, filepath.Join(t.TempDir(), "name.txt"), "Ada")
	submit := func(extra ...string) resultJSON {
		t.Helper()
		args := append([]string{"submit", task, "--course-dir", course, "-i", "name=@" + answer, "--wait", "--json"}, extra...)
		code, out, errOut := client(args...)
		var res resultJSON
		if code != exitOK || json.Unmarshal([]byte(out), &res) != nil {
			t.Fatalf("submit %v: exit %d\nstdout: %s\nstderr: %s", extra, code, out, errOut)
		}
		return res
	}
	res := submit("--debug")
	if res.Status != "success" || res.Text != "Hello, Ada!" || res.Stdout != "greeting Ada\n" || res.Stderr != "lib loaded\n" {
		t.Errorf("--debug: status %q, text %q, stdout %q, stderr %q", res.Status, res.Text, res.Stdout, res.Stderr)
	}
	res = submit()
	if res.Status != "success" || res.Text != "Hello, Ada!" || res.Stdout != "" || res.Stderr != "" {
		t.Errorf("without --debug: status %q, text %q, stdout %q, stderr %q", res.Status, res.Text, res.Stdout, res.Stderr)
	}
	// For people: the output after the feedback.
	code, out, errOut := client("submit", task, "--course-dir", course, "-i", "name=@"+answer, "--debug", "--wait")
	if code != exitOK || !strings.Contains(out, "Hello, Ada!\n\n--- stdout\ngreeting Ada\n\n--- stderr\nlib loaded\n") {
		t.Errorf("--debug without --json: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// A task folder without a run file is refused before anything is sent:
// its jobs could only end in crash.
func TestSubmit_RefusesATaskWithoutARunFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "course", "norun")
	writeFile(t, filepath.Join(dir, "task.yaml"), "environment_type: docker\nenvironment_id: default\n")
	_, err := buildJob(dir, submitOptions{}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "no run file") {
		t.Fatalf("buildJob = %v, want a refusal naming the missing run file", err)
	}
	// A run file in the course's $common is found, as the helper finds it.
	writeFile(t, filepath.Join(dir, "..", "$common", "run"), "#!/bin/sh\n")
	if _, err := buildJob(dir, submitOptions{}, time.Now()); err != nil {
		t.Fatalf("with $common/run: %v", err)
	}
	// run_cmd names what to run instead.
	other := filepath.Join(t.TempDir(), "c", "cmd")
	writeFile(t, filepath.Join(other, "task.yaml"), "environment_type: docker\nenvironment_id: default\nenvironment_parameters:\n  run_cmd: echo hi\n")
	if _, err := buildJob(other, submitOptions{}, time.Now()); err != nil {
		t.Fatalf("with run_cmd: %v", err)
	}
}

// An answer to a problem the task does not have is flagged on stderr (a
// typo would otherwise be graded as an empty answer), and still sent; so
// is a problem left without an answer.
func TestSubmit_FlagsAnswersToUnknownProblems(t *testing.T) {
	client := startSystem(t, "--runtime", "noop")
	hello := filepath.Join("..", "..", "examples", "hello")
	cases := []struct {
		input, warning string
	}{
		{"nme=Ada", `warning: problem "nme" is not one of the task's (did you mean "name"?) (it has name); submitted anyway`},
		// Then no answer for the task's problem: a run file reading it
		// would fail as it never can behind INGInious' webapp.
		{"nme=Ada", "warning: no answer for problem name (INGInious' webapp always sends one; give it with -i or -f); submitted anyway"},
		{"name=Ada", ""},
	}
	for _, c := range cases {
		code, out, errOut := client("submit", hello, "-i", c.input, "-i", "@lang=fr")
		if code != exitOK || strings.TrimSpace(out) == "" {
			t.Fatalf("submit -i %s: exit %d\nstdout: %s\nstderr: %s", c.input, code, out, errOut)
		}
		if c.warning == "" && strings.Contains(errOut, "warning") || !strings.Contains(errOut, c.warning) {
			t.Errorf("submit -i %s: stderr %q, want %q", c.input, errOut, c.warning)
		}
	}
}

// TestSubmitHelp_CourseCommonWritable: the job gets its own copy of
// $common, which a run file may write (docs/task-authors.md, "The
// container"); the help said read-only.
func TestSubmitHelp_CourseCommonWritable(t *testing.T) {
	long := newSubmitCmd(&app{}).Long
	if strings.Contains(long, "read-only at /course/common") || !strings.Contains(long, "own\ncopy") && !strings.Contains(long, "own copy") {
		t.Errorf("submit's help on --course-dir:\n%s", long)
	}
}
