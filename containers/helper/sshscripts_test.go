package helper

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
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

// TestHideScripts_LockedByTheStudent: the student (the helper's own user,
// not root) left folders without their write bit in student/scripts;
// they are still replaced by the hidden folder (before, the removal
// failed on them and the student's scripts stayed for the teardown). Run
// as uid 65534 when the tests run as root, whom no mode stops.
func TestHideScripts_LockedByTheStudent(t *testing.T) {
	student := os.Getenv("INGO_TEST_STUDENT_DIR")
	if student == "" && os.Geteuid() == 0 {
		dir, err := os.MkdirTemp("", "ingo-hide-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		bin := filepath.Join(dir, "helper.test")
		data, err := os.ReadFile(os.Args[0])
		if err == nil {
			err = os.WriteFile(bin, data, 0o755)
		}
		if err == nil {
			err = os.Mkdir(filepath.Join(dir, "student"), 0o755)
		}
		if err == nil {
			err = os.Chown(filepath.Join(dir, "student"), 65534, 65534)
		}
		if err == nil {
			err = os.Chmod(dir, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-test.run=^TestHideScripts_LockedByTheStudent$", "-test.count=1")
		cmd.Env = append(os.Environ(), "INGO_TEST_STUDENT_DIR="+filepath.Join(dir, "student"))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("as uid 65534: %v\n%s", err, out)
		}
		return
	}
	if student == "" {
		student = t.TempDir()
	}
	dir := filepath.Join(student, scriptsDir)
	writeTree(t, dir, map[string]string{"end.sh": "echo bye"})
	h, err := hideScripts(student)
	if err != nil || h == nil {
		t.Fatalf("hideScripts = %v, %v", h, err)
	}
	writeTree(t, dir, map[string]string{"end.sh": "echo hacked", "locked/x": "x"})
	for _, d := range []string{filepath.Join(dir, "locked"), dir} {
		if err := os.Chmod(d, 0o500); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.restore(); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "end.sh")); err != nil || string(data) != "echo bye" {
		t.Errorf("end.sh: %q, %v; want the hidden one", data, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "locked")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the student's locked folder after the restore: %v", err)
	}
}
