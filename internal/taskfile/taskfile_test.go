package taskfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
