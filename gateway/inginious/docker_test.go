package bridge

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/docker"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// Courses in the style of public INGInious course repositories: a Python
// run file with the inginious package, a template, rst, translations,
// run_student and the course's $common; a shell run file with the
// commands and $common.
var courseFiles = map[string]string{
	"pycourse/$common/checker.py":  "def check(word, out):\n    return out.strip() == word[::-1]\n",
	"pycourse/reverse/task.yaml":   "name: Reverse\nenvironment_type: docker\nenvironment_id: python3\n",
	"pycourse/reverse/prog.py.tpl": "# the student's code\n@@code@@\n",
	"pycourse/reverse/run.py": `import sys
sys.path.insert(0, "/course/common")
from inginious import feedback, input, rst, lang
from inginious.run_student import run_student_simple
import checker

lang.init()
word = input.get_input("word")
input.parse_template("prog.py.tpl", "/task/student/prog.py")
out, err, code = run_student_simple("python3 /task/student/prog.py", cmd_input=word + "\n", time_limit=5)
ok = code == 0 and checker.check(word, out)
feedback.set_problem_result("success" if ok else "failed", "word")
feedback.set_problem_feedback(rst.get_codeblock("text", out), "word")
feedback.set_grade(100.0 if ok else 0.0)
feedback.set_global_result("success" if ok else "failed")
feedback.set_global_feedback(_("Well done") if ok else _("Try again"))
feedback.set_custom_value("length", len(word))
feedback.set_tag("reversed", ok)
feedback.set_state("seen")
`,
	"shellcourse/$common/lib.sh": "greet() { echo \"Hello, $1!\"; }\n",
	"shellcourse/hello/run": `#!/bin/bash
. /course/common/lib.sh
name=$(getinput name)
echo "greeting $name"
echo "lib loaded" >&2
feedback-result success
feedback-msg -m "$(greet "$name")"
feedback-grade 90
`,
}

// TestBridgeDockerCourses grades those tasks through the bridge on a real
// Docker agent, and checks every field at the INGInious client.
func TestBridgeDockerCourses(t *testing.T) {
	testutil.RequireImage(t, "ingo/env-default")
	r := newRigWith(t, 1, 2, func() containers.Runtime {
		rt, err := docker.New(context.Background(), docker.Options{AgentID: "bridge-docker",
			Aliases: map[string]string{"python3": "default"}})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}, false)
	files := map[string]string{
		"pycourse/reverse/lang/fr/LC_MESSAGES/messages.mo": string(testutil.GettextMO(map[string]string{"Well done": "Bravo", "Try again": "Essaie encore"})),
	}
	for k, v := range courseFiles {
		files[k] = v
	}
	for name, content := range files {
		p := filepath.Join(r.tasks, name)
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
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	// A job in a container may take longer than aliveFor on a loaded
	// machine: without pings the webapp would pass for gone.
	c.pingEverySecond()
	for { // the docker agent's environments, aliases included
		m := c.recv("Pong")
		if envs, _ := m["available_environments"].(map[string]any); strings.Contains(fmt.Sprint(envs["docker"]), "python3") {
			break
		}
	}
	debug := false // what the webapp asks for the next jobs
	job := func(id, course, task, env string, input map[string]any) {
		c.send("ClientNewJob", map[string]any{
			"job_id": id, "priority": 0, "course_id": course, "task_id": task, "task_problems": map[string]any{},
			"inputdata": input, "environment_type": "docker", "environment": env,
			"environment_parameters": map[string]any{"limits": map[string]any{"time": 20, "hard_time": 60, "memory": 256}},
			"debug":                  debug, "launcher": "Frontend - test"})
	}
	done := func(id string) map[string]any {
		t.Helper()
		for {
			m := c.recv("BackendUpdateEnvironments", "BackendJobStarted", "Pong")
			if m["@type"] == "BackendJobDone" && m["job_id"] == id {
				return m
			}
		}
	}

	job("bbbbbbbb-0000-0000-0000-000000000001", "pycourse", "reverse", "python3", map[string]any{
		"word": "hello", "code": "print(input()[::-1])", "@lang": "en", "@username": "alice", "@state": ""})
	m := done("bbbbbbbb-0000-0000-0000-000000000001")
	// What the job used comes in the custom values beside the grader's
	// (its figures vary: only their presence is checked).
	custom, _ := m["custom"].(map[string]any)
	if u, ok := custom["ingo_usage"].(map[string]any); !ok || u["cpu_time"] == nil || u["memory_peak"] == nil || u["wall_time"] == nil {
		t.Errorf("python task: custom[ingo_usage] = %v, want the job's usage", custom["ingo_usage"])
	}
	delete(custom, "ingo_usage")
	checks := []struct{ field, got, want string }{
		{"result", fmt.Sprint(m["result"]), "[success Well done]"},
		{"grade", fmt.Sprint(m["grade"]), "100"},
		{"problems", fmt.Sprint(m["problems"]), "map[word:[success \n\n.. code-block:: text\n\n\tolleh\n\n]]"},
		{"tests", fmt.Sprint(m["tests"]), "map[reversed:true]"},
		{"custom", fmt.Sprint(m["custom"]), "map[length:5]"},
		{"state", fmt.Sprint(m["state"]), "seen"},
		{"archive", fmt.Sprint(m["archive"]), "<nil>"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("python task: %s = %q, want %q", ck.field, ck.got, ck.want)
		}
	}

	// A wrong answer, from a student who reads French.
	job("bbbbbbbb-0000-0000-0000-000000000002", "pycourse", "reverse", "python3", map[string]any{
		"word": "abc", "code": "print(input())", "@lang": "fr", "@state": ""})
	m = done("bbbbbbbb-0000-0000-0000-000000000002")
	if fmt.Sprint(m["result"]) != "[failed Essaie encore]" || fmt.Sprint(m["grade"]) != "0" || fmt.Sprint(m["tests"]) != "map[reversed:false]" {
		t.Errorf("wrong answer: %v", m)
	}

	job("bbbbbbbb-0000-0000-0000-000000000003", "shellcourse", "hello", "default", map[string]any{"name": "Ada", "@state": ""})
	m = done("bbbbbbbb-0000-0000-0000-000000000003")
	if fmt.Sprint(m["result"]) != "[success Hello, Ada!]" || fmt.Sprint(m["grade"]) != "90" || m["stdout"] != nil || m["stderr"] != nil {
		t.Errorf("shell task: %v", m)
	}

	// With debug, the run file's own stdout and stderr come back.
	debug = true
	job("bbbbbbbb-0000-0000-0000-000000000004", "shellcourse", "hello", "default", map[string]any{"name": "Ada", "@state": ""})
	m = done("bbbbbbbb-0000-0000-0000-000000000004")
	if fmt.Sprint(m["result"]) != "[success Hello, Ada!]" || m["stdout"] != "greeting Ada\n" || m["stderr"] != "lib loaded\n" {
		t.Errorf("shell task in debug mode: stdout %#v, stderr %#v (%v)", m["stdout"], m["stderr"], m)
	}
}
