package taskfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// CheckOptions tune Check.
type CheckOptions struct {
	// ProblemTypes are problem types accepted besides ProblemTypes, for
	// courses whose webapp has plugins of its own.
	ProblemTypes []string
}

// Report is what Check found in a task folder, and what it read there.
type Report struct {
	// Spec is the task as ingo reads it; where task.yaml could not be
	// read, the parts that could, defaults for the rest.
	Spec Spec
	// Problems are the problem ids task.yaml declares; nil when it
	// declares none (or none could be read), and then answers are not
	// checked against them.
	Problems map[string]bool
	// Samples are the well-formed files of DIR/tests.
	Samples  []Sample
	Findings []Finding
	// Unread is true when task.yaml is there but could not be read at
	// all (not YAML, too large, not a mapping): Spec then holds the
	// defaults, not the task's environment, which is unknown.
	Unread bool
}

// Check reads the task folder dir as `ingo task check` does: task.yaml
// as ingo and INGInious read it, its problems, the run file and the
// sample answers in dir/tests. It reports every problem it finds, not
// only the first; the error is for a dir that cannot be read at all.
func Check(dir string, o CheckOptions) (*Report, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("task folder: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("task folder %s is not a directory: give the folder that holds task.yaml", dir)
	}
	r := &Report{}
	r.Spec, _ = Parse(nil)
	path := filepath.Join(dir, "task.yaml")
	f := findings{file: path, list: &r.Findings}
	data, err := readTaskYAML(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		f.add(SevWarning, 0, "no task.yaml: ingo runs the folder in docker/default with default limits, but INGInious would not see a task here")
	case errors.Is(err, ErrTooLarge):
		f.add(SevError, 0, "%v", err)
		r.Unread = true
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	default:
		r.Unread = !checkTaskYAML(f, data, o, r)
	}
	checkRunFile(dir, r.Spec, &r.Findings)
	r.Samples = checkSamples(dir, r.Problems, &r.Findings)
	sortFindings(r.Findings)
	return r, nil
}

// checkTaskYAML checks task.yaml's text and fills r.Spec and r.Problems
// with what could be read. It returns false when nothing could be read
// (not YAML, too large, not a mapping).
func checkTaskYAML(f findings, data []byte, o CheckOptions, r *Report) bool {
	var doc yaml.Node
	switch err := checkBounds(data, &doc); {
	case errors.Is(err, ErrTooLarge):
		f.add(SevError, 0, "%v", err)
		return false
	case err != nil:
		f.yamlError(errors.Unwrap(err))
		return false
	}
	root := deref(&doc)
	if root == nil {
		f.add(SevWarning, 0, "task.yaml is empty: the defaults apply (docker/default), and INGInious would find no problem to show")
		return true
	}
	if root.Kind != yaml.MappingNode {
		f.add(SevError, root.Line, "task.yaml must be a mapping of keys (name, problems, environment_id, ...)")
		return false
	}
	errorsBefore := countErrors(*f.list)
	duplicates(f, root, "")
	unknownKeys(f, root, "", taskKeys, runKeys)
	r.Spec.EnvironmentType, r.Spec.Environment = checkEnvironment(f, root)
	r.Problems = checkProblems(f, root, o)
	spec, err := Parse(data)
	if err != nil {
		// The checks above report each bad value at its line; Parse
		// stops at the first. Say it only if they missed it.
		if countErrors(*f.list) == errorsBefore {
			f.add(SevError, 0, "%v", err)
		}
		return true
	}
	r.Spec = spec
	return true
}

func countErrors(fs []Finding) int {
	n := 0
	for _, f := range fs {
		if f.Severity == SevError {
			n++
		}
	}
	return n
}
