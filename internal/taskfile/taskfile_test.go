package taskfile

import (
	"os"
	"path/filepath"
	"testing"
)

// The CLI's tests (cmd/ingo/taskfile_test.go) cover the cases; this one
// checks the package on its own: strings as numbers, newer keys win.
func TestParse(t *testing.T) {
	t.Parallel()
	spec, err := Parse([]byte("environment: old\nlimits: {time: '10'}\nenvironment_id: new\n" +
		"environment_parameters: {limits: {memory: '128', hard_time: 40}, network_grading: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := spec.Parameters
	if spec.EnvironmentType != DefaultEnvironmentType || spec.Environment != "new" || p.Limits.Time != 10 ||
		p.Limits.Memory != 128 || p.Limits.HardTime != 40 || !p.NetworkGrading {
		t.Errorf("spec %+v", spec)
	}
	if _, err := Parse([]byte("limits: {time: ten}")); err == nil {
		t.Error("a non-number limit passes")
	}
}

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
