package helper

import (
	"os"
	"path/filepath"
	"strings"
)

// The grader's commands (archive -a, parsetemplate, rst-image) open the
// paths it names. After any run_student, /task/student is the student's:
// code run there may have left a symbolic link where the grader expects
// the student's output, leading a read to the task's hidden files (then
// returned in the archive or the feedback) or a write over the grader's
// own run file. A path in the student's directory is therefore opened
// within it (os.Root): links that stay inside it work, links that lead
// out fail. Other paths are the task author's, opened as they are.

// studentRel is path relative to the student's directory, or ok false when
// it is not in it (lexically, after making it absolute).
func (p Paths) studentRel(path string) (rel string, ok bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false
	}
	rel, err = filepath.Rel(p.Student, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// openFile is os.OpenFile, within the student's directory for a path in
// it.
func (p Paths) openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	rel, ok := p.studentRel(path)
	if !ok {
		return os.OpenFile(path, flag, perm)
	}
	root, err := os.OpenRoot(p.Student)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.OpenFile(rel, flag, perm)
}

// readFile is os.ReadFile, within the student's directory for a path in
// it.
func (p Paths) readFile(path string) ([]byte, error) {
	rel, ok := p.studentRel(path)
	if !ok {
		return os.ReadFile(path)
	}
	root, err := os.OpenRoot(p.Student)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.ReadFile(rel)
}

// writeFile is os.WriteFile after os.MkdirAll of its directory, within
// the student's directory for a path in it.
func (p Paths) writeFile(path string, data []byte, perm os.FileMode) error {
	rel, ok := p.studentRel(path)
	if !ok {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return os.WriteFile(path, data, perm)
	}
	root, err := os.OpenRoot(p.Student)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.MkdirAll(filepath.Dir(rel), 0o755); err != nil {
		return err
	}
	return root.WriteFile(rel, data, perm)
}
