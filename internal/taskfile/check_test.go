package taskfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// want is a finding a test expects: its file (base name), line,
// severity and a part of its message.
type want struct {
	file string
	line int
	sev  Severity
	text string
}

// assertFindings checks that every wanted finding is there, and that
// there are no other errors than those wanted.
func assertFindings(t *testing.T, got []Finding, wants []want) {
	t.Helper()
	errs := 0
	for _, w := range wants {
		if w.sev == SevError {
			errs++
		}
		found := false
		for _, f := range got {
			if filepath.Base(f.File) == w.file && f.Line == w.line && f.Severity == w.sev && strings.Contains(f.Message, w.text) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no %s at %s:%d with %q", w.sev, w.file, w.line, w.text)
		}
	}
	if n := countErrors(got); n != errs {
		t.Errorf("%d errors, want %d", n, errs)
	}
	if t.Failed() {
		for _, f := range got {
			t.Log(f)
		}
	}
}

// TestCheck_BadTask: testdata/badtask has one of each mistake in one
// folder; each is reported at its line, none hides another.
func TestCheck_BadTask(t *testing.T) {
	t.Parallel()
	r, err := Check(filepath.Join("testdata", "badtask"), CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertFindings(t, r.Findings, []want{
		{"task.yaml", 4, SevWarning, `unknown key autor (did you mean "author"?)`},
		{"task.yaml", 5, SevError, `unknown key enviroment_id (did you mean "environment_id"?)`},
		{"task.yaml", 9, SevError, `environment_parameters.limits.time: "fast" is not a number`},
		{"task.yaml", 11, SevWarning, "memory 10 MiB is raised to 20 MiB"},
		{"task.yaml", 12, SevWarning, "disk 9000 is more than agents grant"},
		{"task.yaml", 13, SevError, `limits.tme (did you mean "time"?)`},
		{"task.yaml", 14, SevError, `network_grading: "sometimes" is not on/off`},
		{"task.yaml", 15, SevError, `ssh_alowed (did you mean "ssh_allowed"?)`},
		{"task.yaml", 16, SevWarning, "limits at the top level is ignored"},
		{"task.yaml", 19, SevError, `problem id "bad id" is not valid`},
		{"task.yaml", 21, SevError, "problem q1 has no type"},
		{"task.yaml", 24, SevError, `unknown type "multiple-choice" (did you mean "multiple_choice"?)`},
		{"task.yaml", 25, SevError, "q3 (multiple_choice) has no choices"},
		{"task.yaml", 28, SevError, "q4 (match) has no answer"},
		{"task.yaml", 33, SevError, "no choice is valid"},
		{"task.yaml", 38, SevWarning, `heder (did you mean "header"?)`},
		{"task.yaml", 41, SevError, `unknown box type "textarea"`},
		{"task.yaml", 42, SevError, "problems.q1 given twice (first at line 21)"},
		{"run", 0, SevWarning, "not executable"},
		{"run", 1, SevWarning, "the default environment probably has no ruby"},
		{"broken-yaml.yaml", 2, SevError, "not valid YAML"},
		{"malformed.yaml", 1, SevError, "inputs must be a mapping"},
		{"malformed.yaml", 3, SevError, `status "passed" is not one of`},
		{"malformed.yaml", 4, SevError, `"about 50" is not a number`},
		{"malformed.yaml", 5, SevError, "missing closing )"},
		{"malformed.yaml", 6, SevError, `expect.problems.q1.stat (did you mean "status"?)`},
		{"malformed.yaml", 7, SevError, `unknown key expected (did you mean "expect"?)`},
		{"no-expect.yaml", 0, SevError, "no expect"},
		{"unknown-problem.yaml", 3, SevError, `answers problem "q9", which the task does not have (did you mean "q1"?)`},
		{"unknown-problem.yaml", 4, SevError, `answers problem "name"`},
		{"unknown-problem.yaml", 4, SevError, "@missing.txt"},
		{"unknown-problem.yaml", 6, SevError, "files.q6"},
		{"unknown-problem.yaml", 10, SevError, "expect.problems.q7: the task has no such problem"},
	})
	if len(r.Samples) != 1 || r.Samples[0].Name != "unknown-problem" {
		t.Errorf("well-formed samples %+v, want unknown-problem only", r.Samples)
	}
}

// TestCheck_Findings: each kind of finding on a small folder of its own.
func TestCheck_Findings(t *testing.T) {
	t.Parallel()
	const run = "#!/bin/bash\nfeedback-result success\n"
	cases := []struct {
		name  string
		files map[string]string // name: content; "run" is made executable
		want  []want
	}{
		{"a clean task", map[string]string{"task.yaml": "environment_id: default\nproblems: {q: {type: code}}\n", "run": run}, nil},
		{"YAML syntax error at its line", map[string]string{"task.yaml": "name: x\nproblems:\n  q: [\n", "run": run},
			[]want{{"task.yaml", 3, SevError, "not valid YAML"}}},
		{"not a mapping", map[string]string{"task.yaml": "- a\n- b\n", "run": run},
			[]want{{"task.yaml", 1, SevError, "must be a mapping"}}},
		{"no task.yaml", map[string]string{"run": run},
			[]want{{"task.yaml", 0, SevWarning, "INGInious would not see a task"}}},
		{"older format with environment_* left over", map[string]string{
			"task.yaml": "environment: default\nenvironment_id: cpp\nlimits: {time: 5}\nproblems: {q: {type: code}}\n", "run": run},
			[]want{{"task.yaml", 2, SevWarning, "environment_id is ignored"}}},
		{"top-level limits without environment_parameters", map[string]string{
			"task.yaml": "environment_id: default\nlimits: {time: 5}\nproblems: {q: {type: code}}\n", "run": run},
			[]want{{"task.yaml", 2, SevWarning, "INGInious' current webapp ignores it"}}},
		{"network_grading: true at the top level does not give the network", map[string]string{
			"task.yaml": "environment_id: default\nenvironment_parameters: {limits: {time: '30'}}\nnetwork_grading: true\nproblems: {q: {type: code}}\n", "run": run},
			[]want{{"task.yaml", 3, SevWarning, "network_grading at the top level is ignored"}}},
		{"limits out of range", map[string]string{
			"task.yaml": "environment_parameters:\n  limits: {time: 900, hard_time: 60, memory: 8000}\nproblems: {q: {type: code}}\n", "run": run},
			[]want{{"task.yaml", 2, SevWarning, "time 900 is more than agents grant"},
				{"task.yaml", 2, SevWarning, "memory 8000 is more than"},
				{"task.yaml", 2, SevWarning, "hard_time 60 s (wall time) is less than time 900 s"}}},
		{"limits not a mapping", map[string]string{"task.yaml": "environment_parameters: {limits: 30}\nproblems: {q: {type: code}}\n", "run": run},
			[]want{{"task.yaml", 1, SevError, "limits must be a mapping"}}},
		{"environment_id a list", map[string]string{"task.yaml": "environment_id: [a]\nproblems: {q: {type: code}}\n", "run": run},
			[]want{{"task.yaml", 1, SevError, "environment_id must be a text, not a list"}}},
		{"no problems", map[string]string{"task.yaml": "environment_id: default\n", "run": run},
			[]want{{"task.yaml", 0, SevWarning, "no problems"}}},
		{"problems a list", map[string]string{"task.yaml": "problems: [a]\n", "run": run},
			[]want{{"task.yaml", 1, SevError, "problems must be a mapping"}}},
		{"no run file", map[string]string{"task.yaml": "problems: {q: {type: code}}\n"},
			[]want{{"run", 0, SevError, "no run file"}}},
		{"run_cmd: no run file needed", map[string]string{"task.yaml": "environment_parameters: {run_cmd: python3 grade.py}\nproblems: {q: {type: code}}\n"}, nil},
		{"mcq: no run file needed", map[string]string{"task.yaml": "environment: mcq\nproblems: {q: {type: match, answer: 42}}\n"}, nil},
		{"no #! line", map[string]string{"task.yaml": "problems: {q: {type: code}}\n", "run": "feedback-result success\n"},
			[]want{{"run", 1, SevWarning, "INGInious runs such a file with IPython"}}},
		{"python in the minimal image", map[string]string{"task.yaml": "environment_id: minimal\nproblems: {q: {type: code}}\n", "run": "#!/usr/bin/python3\n"},
			[]want{{"run", 1, SevWarning, "the minimal environment probably has no python3"}}},
		{"a plugin's type needs --problem-type", map[string]string{"task.yaml": "problems: {q: {type: scratch}}\n", "run": run},
			[]want{{"task.yaml", 1, SevError, `unknown type "scratch"`}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTask(t, tc.files)
			r, err := Check(dir, CheckOptions{})
			if err != nil {
				t.Fatal(err)
			}
			assertFindings(t, r.Findings, tc.want)
		})
	}
}

// TestCheck_StudioKeys: what INGInious' task editor writes in every task
// it saves is no finding. It writes network_grading: false at the top
// level beside environment_parameters (task_edit.py, a leftover of the
// older format): false changes nothing, while true is a finding, since
// the network it asks for is not given. Its HTML box is
// environment_parameters.responseIsHTML (env_generic_docker_oci.html),
// the webapp reads response_is_html there, and the older format's
// top-level responseIsHTML (tasks.py, _migrate_from_v_0_6).
func TestCheck_StudioKeys(t *testing.T) {
	t.Parallel()
	const run = "#!/bin/bash\nfeedback-result success\n"
	const current = "environment_id: default\nenvironment_type: docker\nproblems: {q: {type: code}}\n"
	for _, yml := range []string{
		current + "environment_parameters: {limits: {time: '30', hard_time: '', memory: '100'}, run_cmd: ''}\nnetwork_grading: false\n",
		current + "environment_parameters: {limits: {time: '30'}}\nnetwork_grading: off\n",
		current + "environment_parameters: {limits: {time: '30'}}\nnetwork_grading: ''\n",
		current + "environment_parameters: {limits: {time: '30'}, run_cmd: '', responseIsHTML: 'on'}\n",
		current + "environment_parameters: {limits: {time: '30'}, response_is_html: true}\n",
		"environment: cpp\nlimits: {time: '30', memory: '100', output: '2'}\nresponseIsHTML: true\nproblems: {q: {type: code}}\n",
	} {
		dir := writeTask(t, map[string]string{"run": run, "task.yaml": yml})
		r, err := Check(dir, CheckOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range r.Findings {
			t.Errorf("%q: %s", yml, f)
		}
	}
}

// TestCheck_CourseCommonRun: a task without a run file uses its course's
// $common one, as in INGInious; --problem-type accepts a plugin's type.
func TestCheck_CourseCommonRun(t *testing.T) {
	t.Parallel()
	course := t.TempDir()
	task := filepath.Join(course, "t1")
	writeFiles(t, course, map[string]string{"t1/task.yaml": "problems: {q: {type: scratch}}\n", "$common/run": "#!/bin/sh\n"})
	r, err := Check(task, CheckOptions{ProblemTypes: []string{"scratch"}})
	if err != nil {
		t.Fatal(err)
	}
	assertFindings(t, r.Findings, nil)
	if _, err := Check(filepath.Join(task, "task.yaml"), CheckOptions{}); err == nil {
		t.Error("Check of a file: no error")
	}
}

// TestCheck_Examples keeps the repository's examples clean.
func TestCheck_Examples(t *testing.T) {
	t.Parallel()
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*", "task.yaml"))
	if len(dirs) == 0 {
		t.Fatal("no examples found")
	}
	for _, d := range dirs {
		r, err := Check(filepath.Dir(d), CheckOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Samples) == 0 {
			t.Errorf("%s: no sample answers in tests/", filepath.Dir(d))
		}
		for _, f := range r.Findings {
			t.Errorf("%s", f)
		}
	}
}

func writeTask(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "task")
	writeFiles(t, dir, files)
	return dir
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if filepath.Base(name) == "run" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheck_SSHStudentNeedsSSH: a run file calling ssh_student in a task
// that does not allow SSH crashes every job that reaches the call
// (docs/task-authors.md, "ssh_student, for students"): say so before
// students find out. A docker-ssh task, a comment or an import is no
// finding.
func TestCheck_SSHStudentNeedsSSH(t *testing.T) {
	t.Parallel()
	const yamlDocker = "environment_id: default\nproblems: {q: {type: code}}\n"
	const yamlSSH = "environment_type: docker-ssh\nenvironment_id: default\nproblems: {q: {type: code}}\n"
	const yamlAllowed = "environment_id: default\nenvironment_parameters: {ssh_allowed: 'on'}\nproblems: {q: {type: code}}\n"
	shell := "#!/bin/bash\n# ssh_student gives a shell\ncp x student/\nssh_student --setup-script 'true'\nfeedback-result success\n"
	python := "#!/usr/bin/env python3\nfrom inginious import ssh_student\ncode = ssh_student.ssh_student(setup_script='true')\n"
	for _, tc := range []struct {
		name, yaml, file, run string
		line                  int
	}{
		{"shell, docker", yamlDocker, "run", shell, 4},
		{"python, docker", yamlDocker, "run.py", python, 3},
		{"shell, docker-ssh", yamlSSH, "run", shell, 0},
		{"shell, ssh_allowed", yamlAllowed, "run", shell, 0},
		{"comment only", yamlDocker, "run", "#!/bin/bash\n# no ssh_student here\nfeedback-result success\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTask(t, map[string]string{"task.yaml": tc.yaml, tc.file: tc.run})
			r, err := Check(dir, CheckOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got []Finding
			for _, f := range r.Findings {
				if strings.Contains(f.Message, "ssh_student") {
					got = append(got, f)
				}
			}
			switch {
			case tc.line == 0 && len(got) != 0:
				t.Errorf("unexpected: %v", got)
			case tc.line != 0 && (len(got) != 1 || got[0].Line != tc.line || got[0].Severity != SevWarning ||
				filepath.Base(got[0].File) != tc.file || !strings.Contains(got[0].Message, "docker-ssh")):
				t.Errorf("want one warning at %s:%d, got %v", tc.file, tc.line, got)
			}
		})
	}
}

// TestCheck_SampleAllMistakes: a sample with a mistake in expect still
// has its answers checked, so that one run of task check lists them all.
func TestCheck_SampleAllMistakes(t *testing.T) {
	t.Parallel()
	dir := writeTask(t, map[string]string{
		"task.yaml":      "environment_id: default\nproblems: {code: {type: code}}\n",
		"run":            "#!/bin/bash\nfeedback-result success\n",
		"tests/bad.yaml": "inputs:\n  cod: x\nfiles:\n  code: nofile.txt\nexpect:\n  status: sucess\n",
	})
	r, err := Check(dir, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertFindings(t, r.Findings, []want{
		{"bad.yaml", 2, SevError, `answers problem "cod"`},
		{"bad.yaml", 4, SevError, "files.code"},
		{"bad.yaml", 6, SevError, `status "sucess"`},
	})
	if len(r.Samples) != 0 {
		t.Errorf("%d samples, want 0: a sample with errors is not graded", len(r.Samples))
	}
}
