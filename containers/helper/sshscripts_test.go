package helper

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestHideScripts: student/scripts is off the disk while hidden, and comes
// back as it was (contents, modes, folders) over whatever the student put
// in its place; links and pipes in it are not copied.
func TestHideScripts(t *testing.T) {
	student := t.TempDir()
	dir := filepath.Join(student, scriptsDir)
	writeTree(t, dir, map[string]string{"start.sh": "echo setup", "sub/answers.txt": "42"})
	if err := os.Chmod(filepath.Join(dir, "start.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "sub", "answers.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}

	h, err := hideScripts(student)
	if err != nil || h == nil {
		t.Fatalf("hideScripts = %v, %v", h, err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("scripts still there while hidden: %v", err)
	}
	// The student's own scripts folder, with a link out of it.
	writeTree(t, dir, map[string]string{"start.sh": "echo hacked", "end.sh": "echo hacked"})
	if err := os.Symlink("/etc", filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}

	if err := h.restore(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, data string
		mode       fs.FileMode
	}{
		{"start.sh", "echo setup", 0o755},
		{"sub/answers.txt", "42", 0o600},
	} {
		p := filepath.Join(dir, tt.name)
		data, err := os.ReadFile(p)
		st, serr := os.Lstat(p)
		if err != nil || serr != nil || string(data) != tt.data || st.Mode() != tt.mode {
			t.Errorf("%s: %q %v, %v %v; want %q %v", tt.name, data, st.Mode(), err, serr, tt.data, tt.mode)
		}
	}
	if st, err := os.Lstat(filepath.Join(dir, "sub")); err != nil || st.Mode() != fs.ModeDir|0o750 {
		t.Errorf("sub: %v, %v; want a folder 0750", st.Mode(), err)
	}
	for _, gone := range []string{"end.sh", "link", "pipe"} {
		if _, err := os.Lstat(filepath.Join(dir, gone)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after the restore: %v, want none", gone, err)
		}
	}
}

func TestHideScripts_NothingOrTooLarge(t *testing.T) {
	if h, err := hideScripts(t.TempDir()); h != nil || err != nil {
		t.Errorf("no scripts folder: %v, %v; want nothing", h, err)
	}
	var nilHidden *hiddenScripts
	if err := nilHidden.restore(); err != nil {
		t.Errorf("restore of nothing: %v", err)
	}
	student := t.TempDir()
	big := strings.Repeat("x", maxHiddenBytes/2+1)
	writeTree(t, filepath.Join(student, scriptsDir), map[string]string{"a": big, "b": big})
	if h, err := hideScripts(student); !errors.Is(err, errScriptsTooLarge) || h != nil {
		t.Errorf("over the bound: %v, %v; want errScriptsTooLarge", h, err)
	}
	if data, err := os.ReadFile(filepath.Join(student, scriptsDir, "a")); err != nil || len(data) != len(big) {
		t.Errorf("a folder over the bound must stay as it was: %v", err)
	}
}

// writeTree writes files (path inside dir: contents), making their
// folders.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
