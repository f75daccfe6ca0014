package taskfile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

func TestReadDirWithoutTaskYAML(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	spec, err := ReadDir(dir)
	if err != nil || spec.Environment != DefaultEnvironment {
		t.Errorf("ReadDir = %+v, %v", spec, err)
	}
}

func TestReadDirNamesTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "task.yaml")
	if err := os.WriteFile(path, []byte("environment_parameters: {limits: {hard_time: soon}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), path) ||
		!strings.Contains(err.Error(), "environment_parameters.limits.hard_time") {
		t.Errorf("err = %v, want the file and the key", err)
	}
}

// Keys of task.yaml's problems that are not strings (cnp3's network-trace
// problems: "exclude: {2: [dns.id]}") come out as Python's str makes
// them, so that the problems cross the wire, whose free-form maps have
// string keys only: the job was refused as malformed.
func TestParseProblemsNonStringKeys(t *testing.T) {
	spec, err := Parse([]byte(`environment: mcq
problems:
    id:
        type: network-trace
        exclude:
            2:
            - dns.id
            true: 1
            1.5: x
            3.0: f
            1000000.0: m
        hide: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": map[string]any{
		"type":    "network-trace",
		"exclude": map[string]any{"2": []any{"dns.id"}, "True": 1, "1.5": "x", "3.0": "f", "1000000.0": "m"},
		"hide":    map[string]any{},
	}}
	if !reflect.DeepEqual(spec.Problems, want) {
		t.Errorf("problems = %#v\nwant       %#v", spec.Problems, want)
	}
	data, err := messages.Encode(&messages.ClientNewJob{JobDescription: messages.JobDescription{
		JobID: "0b7e8cb1-7b0b-4c43-9cf4-44d1e2d5d0a1", CourseID: "c", TaskID: "t", TaskProblems: spec.Problems}})
	if err == nil {
		_, err = messages.Decode(data)
	}
	if err != nil {
		t.Errorf("the problems do not cross the wire: %v", err)
	}
}
