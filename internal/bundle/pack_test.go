package bundle

import (
	"archive/tar"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPackDeterministic(t *testing.T) {
	first := packTree(t, sampleTask())

	// The same folder again, another time: same bytes.
	if again := packTree(t, sampleTask()); again.Digest() != first.Digest() {
		t.Errorf("packing the same files twice: %s then %s", first.Digest(), again.Digest())
	}

	// Other mtimes and atimes, wider and narrower modes of the same kind,
	// files created in another order: none of it is in the bundle.
	dir := t.TempDir()
	for _, name := range []string{"tests/empty", "student/Makefile", "task.yaml", "student/template.c", "run"} {
		writeTree(t, dir, map[string]file{name: sampleTask()[name]})
	}
	for i, p := range []string{"run", "task.yaml", "student", "student/template.c", "tests/empty"} {
		when := time.Date(2001+i, 2, 3, 4, 5, 6, 7, time.UTC)
		if err := os.Chtimes(filepath.Join(dir, p), when, when); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "task.yaml"), 0o666); err != nil {
		t.Fatal(err)
	}
	other, err := Pack(dir, PackLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if other.Digest() != first.Digest() {
		t.Errorf("times, permissions or creation order changed the digest: %s, want %s", other.Digest(), first.Digest())
	}
}

func TestPackContentChangesDigest(t *testing.T) {
	base := packTree(t, sampleTask())
	cases := []struct {
		name   string
		change func(map[string]file)
	}{
		{"one byte of a file", func(f map[string]file) { f["task.yaml"] = file{body: "name: mallod\nenvironment_id: cpp\n"} }},
		{"execute bit", func(f map[string]file) { f["task.yaml"] = file{body: f["task.yaml"].body, mode: 0o755} }},
		{"a file renamed", func(f map[string]file) {
			f["student/template.h"] = f["student/template.c"]
			delete(f, "student/template.c")
		}},
		{"a file added", func(f map[string]file) { f["student/extra"] = file{} }},
		{"a file removed", func(f map[string]file) { delete(f, "student/Makefile") }},
		{"an empty directory added", func(f map[string]file) { f["tests/more"] = file{dir: true} }},
		{"a file moved to a directory", func(f map[string]file) { f["tests/task.yaml"] = f["task.yaml"]; delete(f, "task.yaml") }},
	}
	seen := map[string]string{base.Digest(): "base"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := maps.Clone(sampleTask())
			c.change(files)
			d := packTree(t, files).Digest()
			if prev, dup := seen[d]; dup {
				t.Errorf("same digest as %q", prev)
			}
			seen[d] = c.name
		})
	}
}

func TestPackArchiveLayout(t *testing.T) {
	b := packTree(t, sampleTask())
	hdrs, bodies := listArchive(t, b)
	want := []struct {
		name string
		mode int64
		typ  byte
	}{
		{"run", 0o755, tar.TypeReg},
		{"student/", 0o755, tar.TypeDir},
		{"student/Makefile", 0o644, tar.TypeReg}, // was 0600
		{"student/template.c", 0o644, tar.TypeReg},
		{"task.yaml", 0o644, tar.TypeReg},
		{"tests/", 0o755, tar.TypeDir},
		{"tests/empty/", 0o755, tar.TypeDir},
	}
	if len(hdrs) != len(want) {
		var names []string
		for _, h := range hdrs {
			names = append(names, h.Name)
		}
		t.Fatalf("entries %q, want %d", names, len(want))
	}
	for i, w := range want {
		h := hdrs[i]
		if h.Name != w.name || h.Mode != w.mode || h.Typeflag != w.typ {
			t.Errorf("entry %d: %q mode %o type %q; want %q mode %o type %q", i, h.Name, h.Mode, h.Typeflag, w.name, w.mode, w.typ)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: owner %d/%d %q/%q, time %v; want 0, nobody named, the epoch", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime)
		}
		if strings.HasPrefix(h.Name, "/") || strings.HasPrefix(h.Name, "./") {
			t.Errorf("%s: not a plain relative path", h.Name)
		}
	}
	if got := bodies["run"]; got != sampleTask()["run"].body {
		t.Errorf("run holds %q", got)
	}
	if b.Size() == 0 || !strings.HasPrefix(b.Digest(), "sha256:") || ValidateDigest(b.Digest()) != nil {
		t.Errorf("size %d, digest %q", b.Size(), b.Digest())
	}
}

func TestPackLimits(t *testing.T) {
	// sampleTask has 4 files and 3 directories: 7 entries.
	var size int64
	for _, f := range sampleTask() {
		size += int64(len(f.body))
	}
	cases := []struct {
		name   string
		limits PackLimits
		ok     bool
	}{
		{"defaults", PackLimits{}, true},
		{"entries at the limit", PackLimits{MaxFiles: 7}, true},
		{"one entry too many", PackLimits{MaxFiles: 6}, false},
		{"bytes at the limit", PackLimits{MaxBytes: size}, true},
		{"one byte too many", PackLimits{MaxBytes: size - 1}, false},
	}
	dir := t.TempDir()
	writeTree(t, dir, sampleTask())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Pack(dir, c.limits)
			if c.ok && err != nil {
				t.Fatalf("Pack: %v", err)
			}
			if !c.ok && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Pack: err = %v, want ErrTooLarge", err)
			}
		})
	}
}

// refusal is a folder Pack must refuse: make spoils a sample task, and the
// error must say say.
type refusal struct {
	name string
	make func(t *testing.T, dir string)
	say  string
}

func TestPackRefuses(t *testing.T) {
	cases := []refusal{
		{"symlink to a directory inside", func(t *testing.T, dir string) {
			must(t, os.Symlink("student", filepath.Join(dir, "tests", "s")))
		}, "tests/s is a symbolic link"},
		{"symlink outside", func(t *testing.T, dir string) {
			must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "student", "passwd")))
		}, "student/passwd is a symbolic link"},
		{"symlink out through ..", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(filepath.Dir(dir), "secret"), []byte("x"), 0o644))
			must(t, os.Symlink("../../secret", filepath.Join(dir, "student", "s")))
		}, "student/s is a symbolic link"},
		{"dangling symlink", func(t *testing.T, dir string) {
			must(t, os.Symlink("nowhere", filepath.Join(dir, "x")))
		}, "x is a symbolic link"},
		{"file name not UTF-8", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "bad\xff"), nil, 0o644))
		}, "valid UTF-8"},
	}
	for _, c := range append(cases, specialFileCases...) {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, sampleTask())
			c.make(t, dir)
			_, err := Pack(dir, PackLimits{})
			if !errors.Is(err, ErrUnsupportedFile) {
				t.Fatalf("Pack: err = %v, want ErrUnsupportedFile", err)
			}
			if !strings.Contains(err.Error(), c.say) {
				t.Errorf("error %q does not say %q", err, c.say)
			}
		})
	}
}

// TestPackLinkToAFileInside: a link to a regular file of the folder is
// packed as a copy of it, as if the file were there twice (INGInious
// courses ship a shared library's .so.0 name so).
func TestPackLinkToAFileInside(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, sampleTask())
	must(t, os.Symlink("run", filepath.Join(dir, "run2")))
	b, err := Pack(dir, PackLimits{})
	if err != nil {
		t.Fatal(err)
	}
	copied := t.TempDir()
	writeTree(t, copied, sampleTask())
	data, err := os.ReadFile(filepath.Join(dir, "run"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(copied, "run2"), data, 0o755))
	want, err := Pack(copied, PackLimits{})
	must(t, err)
	if b.Digest() != want.Digest() {
		t.Errorf("digest with a link %s, with a copy %s", b.Digest(), want.Digest())
	}
}

// TestPackRootThroughSymlink: the folder itself may be named through a link
// (/tmp on macOS, a "current" link to a course's tasks).
func TestPackRootThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, sampleTask())
	link := filepath.Join(t.TempDir(), "current")
	must(t, os.Symlink(dir, link))
	b, err := Pack(link, PackLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := packTree(t, sampleTask()); b.Digest() != want.Digest() {
		t.Errorf("digest through a link %s, want %s", b.Digest(), want.Digest())
	}
}

func TestPackMissingFolder(t *testing.T) {
	if _, err := Pack(filepath.Join(t.TempDir(), "nope"), PackLimits{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want not-exist", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
