package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

func TestParseTaskYAML(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml string
		want       taskSpec
	}{
		{
			name: "empty file: INGInious defaults",
			want: taskSpec{EnvironmentType: "docker", Environment: "default"},
		},
		{
			name: "current INGInious format",
			yaml: `author: Ada
name: Sort
environment_id: python3
environment_type: docker-ssh
environment_parameters:
  limits: {time: '20', hard_time: '', memory: '512', output: '2'}
  network_grading: true
  run_cmd: ' python3 run.py '
  response_is_html: false
problems:
  q1: {type: code, language: python}
`,
			want: taskSpec{
				EnvironmentType: "docker-ssh", Environment: "python3",
				Parameters: messages.EnvironmentParameters{
					Limits:         messages.Limits{Time: 20, Memory: 512},
					NetworkGrading: true, RunCmd: "python3 run.py",
				},
				Problems: map[string]any{"q1": map[string]any{"type": "code", "language": "python"}},
			},
		},
		{
			name: "older top-level environment and limits",
			yaml: "environment: cpp\nlimits:\n  time: 10\n  memory: 100\n  hard_time: 45.5\n  disk: 20\nnetwork_grading: true\n",
			want: taskSpec{
				EnvironmentType: "docker", Environment: "cpp",
				Parameters: messages.EnvironmentParameters{
					Limits:         messages.Limits{Time: 10, HardTime: 45.5, Memory: 100, Disk: 20},
					NetworkGrading: true,
				},
			},
		},
		{
			name: "the older environment wins over environment_id, as INGInious converts it",
			yaml: "environment: old\nenvironment_id: new\nlimits: {time: 10, memory: 100}\nenvironment_parameters:\n  limits: {time: 30}\n",
			want: taskSpec{
				EnvironmentType: "docker", Environment: "old",
				Parameters: messages.EnvironmentParameters{Limits: messages.Limits{Time: 10, Memory: 100}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseTaskYAML([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseTaskYAML_Errors(t *testing.T) {
	t.Parallel()
	for yaml, want := range map[string]string{
		"environment_parameters:\n  limits: {time: fast}\n": `limits.time: "fast" is not a number`,
		"environment: x\nlimits: {memory: -5}\n":            "limits.memory",
		"environment: x\nlimits: {time: [1]}\n":             "limits.time",
		"environment_id: [a, b]\n":                          "not a valid task.yaml",
		"\tbad: yaml":                                       "not a valid task.yaml",
	} {
		_, err := parseTaskYAML([]byte(yaml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseTaskYAML(%q) = %v, want an error with %q", yaml, err, want)
		}
	}
}

func TestReadTaskDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A folder without task.yaml is a task with the defaults.
	spec, err := readTaskDir(dir)
	if err != nil || spec.Environment != "default" || spec.EnvironmentType != "docker" {
		t.Errorf("folder without task.yaml: %+v, %v", spec, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "task.yaml"), []byte("environment_id: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readTaskDir(dir); err == nil || !strings.Contains(err.Error(), "task.yaml") {
		t.Errorf("broken task.yaml: err = %v, want it to name the file", err)
	}
	if _, err := readTaskDir(filepath.Join(dir, "task.yaml")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file as task folder: err = %v", err)
	}
}

// TestReadTaskDir_Example keeps examples/hello a valid task.
func TestReadTaskDir_Example(t *testing.T) {
	t.Parallel()
	spec, err := readTaskDir(filepath.Join("..", "..", "examples", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if spec.EnvironmentType != "docker" || spec.Environment != "default" {
		t.Errorf("examples/hello runs in %s/%s, want docker/default (what `ingo agent --runtime noop` offers)",
			spec.EnvironmentType, spec.Environment)
	}
}

// TestBuildJob_CourseForms: a task folder in the forms public INGInious
// courses use (strings for numbers, hard_time ”, network_grading and
// ssh_allowed 'on', as in OpenWeek/INGInious-bash-2022) becomes the job
// INGInious would run: hard_time left to the agent (3 × time), network on,
// the SSH environment type.
func TestBuildJob_CourseForms(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "course", "ctf")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	yaml := "environment_id: cpp\nenvironment_type: docker\nenvironment_parameters:\n  limits: {time: '30', hard_time: '', memory: '100'}\n" +
		"  network_grading: 'on'\n  ssh_allowed: 'on'\n  run_cmd: ''\nnetwork_grading: false\nproblems: {}\n"
	if err := os.WriteFile(filepath.Join(dir, "task.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	req, err := buildJob(dir, submitOptions{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d := req.JobDescription
	want := messages.EnvironmentParameters{Limits: messages.Limits{Time: 30, Memory: 100}, NetworkGrading: true}
	if d.EnvironmentType != "docker-ssh" || d.Environment != "cpp" || !reflect.DeepEqual(d.EnvironmentParameters, want) {
		t.Errorf("job %s/%s %+v, want docker-ssh/cpp %+v", d.EnvironmentType, d.Environment, d.EnvironmentParameters, want)
	}
}
