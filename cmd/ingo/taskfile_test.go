package main

import (
	"github.com/ingo-grader/ingo/internal/taskfile"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// The forms of task.yaml and the refusals are tested in internal/taskfile;
// these tests check the CLI's use of it.

func TestReadTaskDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A folder without task.yaml is a task with the defaults.
	spec, err := taskfile.ReadDir(dir)
	if err != nil || spec.Environment != "default" || spec.EnvironmentType != "docker" {
		t.Errorf("folder without task.yaml: %+v, %v", spec, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "task.yaml"), []byte("environment_id: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := taskfile.ReadDir(dir); err == nil || !strings.Contains(err.Error(), "task.yaml") {
		t.Errorf("broken task.yaml: err = %v, want it to name the file", err)
	}
	if _, err := taskfile.ReadDir(filepath.Join(dir, "task.yaml")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file as task folder: err = %v", err)
	}
}

// TestReadTaskDir_Example keeps examples/hello a valid task.
func TestReadTaskDir_Example(t *testing.T) {
	t.Parallel()
	spec, err := taskfile.ReadDir(filepath.Join("..", "..", "examples", "hello"))
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
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/bash\n"), 0o755); err != nil {
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

// TestBuildJob_SampleTypes: `ingo task test` gives a sample's answers the
// types INGInious' webapp would: a YAML list of one value stays a list, a
// multiple choice with multiple set is a list even when written as one
// value, and @random is a list of numbers.
func TestBuildJob_SampleTypes(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "course", "quiz")
	writeFile(t, filepath.Join(dir, "task.yaml"), `environment_type: mcq
environment_id: mcq
problems:
  q1: {type: multiple_choice, multiple: true, choices: [{text: a, valid: true}, {text: b}]}
  q2: {type: multiple_choice, multiple: true, choices: [{text: a, valid: true}, {text: b}]}
  q3: {type: multiple_choice, choices: [{text: a, valid: true}, {text: b}]}
  q4: {type: code}
`)
	writeFile(t, filepath.Join(dir, "tests", "s.yaml"), `inputs:
  q1: ['0']
  q2: '0'
  q3: '0'
  q4: [print(1)]
  '@random': [0.37, 0.9]
expect: {status: success}
`)
	samples, errs := taskfile.ReadSamples(dir)
	if len(errs) != 0 || len(samples) != 1 {
		t.Fatalf("samples %v, errors %v", samples, errs)
	}
	inputs, files := samples[0].Args()
	req, err := buildJob(dir, submitOptions{inputs: inputs, files: files}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"q1": []any{"0"}, "q2": []any{"0"}, "q3": "0", "q4": []any{"print(1)"},
		"@random": []any{0.37, 0.9},
	}
	for k, v := range want {
		if got := req.InputData[k]; !reflect.DeepEqual(got, v) {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
}

// A task with input_random gets @random drawn, as the webapp draws it for
// each student, unless -i gives it.
func TestSubmitDrawsRandomInputs(t *testing.T) {
	tests := []struct {
		name   string
		random string // task.yaml's input_random line
		inputs []string
		n      int   // numbers drawn, in [0, 1)
		given  []any // or these
	}{
		{name: "two, as a string", random: "input_random: '2'", n: 2},
		{name: "three, as a number", random: "input_random: 3", n: 3},
		{name: "given", random: "input_random: '2'", inputs: []string{"@random=0.5", " @random []=0.25"}, given: []any{0.5, 0.25}},
		{name: "none", given: []any{}},
		{name: "zero", random: "input_random: 0", given: []any{}},
		{name: "not a number", random: "input_random: two", given: []any{}},
		{name: "over the bound", random: "input_random: 1000000000", given: []any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "task.yaml"), "environment: default\n"+tt.random+"\n")
			writeFile(t, filepath.Join(dir, "run"), "#!/bin/sh\n")
			req, err := buildJob(dir, submitOptions{inputs: tt.inputs}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			got, ok := req.InputData["@random"].([]any)
			if !ok {
				t.Fatalf("@random = %#v, want a list", req.InputData["@random"])
			}
			if tt.given != nil {
				if !reflect.DeepEqual(got, tt.given) {
					t.Errorf("@random = %v, want %v", got, tt.given)
				}
				return
			}
			if len(got) != tt.n {
				t.Fatalf("@random = %v, want %d numbers", got, tt.n)
			}
			for _, v := range got {
				if f, ok := v.(float64); !ok || f < 0 || f >= 1 {
					t.Errorf("@random = %v: %#v is no number in [0, 1)", got, v)
				}
			}
		})
	}
}
