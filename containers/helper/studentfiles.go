package helper

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The grader's commands (archive -a, parsetemplate, rst-image,
// feedback-msg-tpl) open the paths it names. After any run_student,
// /task/student is the student's: code run there may have left a
// symbolic link where the grader expects the student's output, leading a
// read to the task's hidden files (then returned in the archive or the
// feedback) or a write over the grader's own run file; or a named pipe,
// on which an open waits until the job's wall time. A path in the
// student's directory is therefore opened within it (os.Root: links that
// stay inside it work, links that lead out fail), without waiting, and
// only if it is a regular file. Other paths are the task author's,
// opened as they are.

// errNotRegular refuses what is not a regular file in the student's
// directory.
var errNotRegular = errors.New("not a regular file")

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

// openFile is os.OpenFile, as above for a path in the student's
// directory; mkdir also makes the file's directory.
func (p Paths) openFile(path string, flag int, perm os.FileMode, mkdir bool) (*os.File, error) {
	rel, ok := p.studentRel(path)
	if !ok {
		if mkdir {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, err
			}
		}
		return os.OpenFile(path, flag, perm)
	}
	root, err := os.OpenRoot(p.Student)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if mkdir {
		if err := root.MkdirAll(filepath.Dir(rel), 0o755); err != nil {
			return nil, err
		}
	}
	// O_NONBLOCK: a pipe opens at once (for writing, fails without a
	// reader) instead of waiting for a peer; a regular file is the same.
	f, err := root.OpenFile(rel, flag|syscall.O_NONBLOCK, perm)
	if err != nil {
		return nil, err
	}
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, errNotRegular)
	}
	return f, nil
}

// readFile is os.ReadFile through openFile.
func (p Paths) readFile(path string) ([]byte, error) {
	f, err := p.openFile(path, os.O_RDONLY, 0, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// writeFile is os.WriteFile through openFile, after making the file's
// directory.
func (p Paths) writeFile(path string, data []byte, perm os.FileMode) error {
	f, err := p.openFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm, true)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
