package bundle

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExtractRoundTrip(t *testing.T) {
	b := packTree(t, sampleTask())
	r, err := b.Open()
	must(t, err)
	defer r.Close()
	dir := filepath.Join(t.TempDir(), "task") // Extract makes it
	if err := Extract(r, dir, PackLimits{}); err != nil {
		t.Fatalf("Extract: %v", err)
	}
	want := map[string]file{
		"run":                {body: sampleTask()["run"].body, mode: 0o755},
		"task.yaml":          {body: sampleTask()["task.yaml"].body, mode: 0o644},
		"student":            {dir: true, mode: 0o755},
		"student/template.c": {body: sampleTask()["student/template.c"].body, mode: 0o644},
		"student/Makefile":   {body: sampleTask()["student/Makefile"].body, mode: 0o644},
		"tests":              {dir: true, mode: 0o755},
		"tests/empty":        {dir: true, mode: 0o755},
	}
	if got := readTree(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("extracted\n %v\nwant\n %v", got, want)
	}
	// Packing what was extracted gives the same bundle back.
	again, err := Pack(dir, PackLimits{})
	must(t, err)
	if again.Digest() != b.Digest() {
		t.Errorf("repacked digest %s, want %s", again.Digest(), b.Digest())
	}
}

func TestExtractRefusesHostileArchives(t *testing.T) {
	dirEntry := func(name string) tarEntry {
		return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
	}
	special := func(name string, typ byte, link string) tarEntry {
		return tarEntry{hdr: tar.Header{Name: name, Typeflag: typ, Linkname: link, Mode: 0o644}}
	}
	many := make([]tarEntry, 11)
	for i := range many {
		many[i] = reg(strings.Repeat("f", i+1), "")
	}
	small := PackLimits{MaxBytes: 1 << 10, MaxFiles: 10}
	cases := []struct {
		name    string
		entries []tarEntry
		limits  PackLimits
		want    error
	}{
		{"absolute path", []tarEntry{reg("/tmp/evil", "x")}, PackLimits{}, ErrUnsafeEntry},
		{"parent", []tarEntry{reg("../evil", "x")}, PackLimits{}, ErrUnsafeEntry},
		{"parent further down", []tarEntry{reg("a/../../evil", "x")}, PackLimits{}, ErrUnsafeEntry},
		{"parent that stays inside", []tarEntry{reg("a/../b", "x")}, PackLimits{}, ErrUnsafeEntry},
		{"dot", []tarEntry{reg("./run", "x")}, PackLimits{}, ErrUnsafeEntry},
		{"dot directory", []tarEntry{dirEntry("./")}, PackLimits{}, ErrUnsafeEntry},
		{"empty element", []tarEntry{reg("a//b", "x")}, PackLimits{}, ErrUnsafeEntry},
		{"backslashes", []tarEntry{reg(`..\..\evil`, "x")}, PackLimits{}, ErrUnsafeEntry},
		{"not UTF-8", []tarEntry{reg("bad\xff", "x")}, PackLimits{}, ErrUnsafeEntry},
		{"symlink", []tarEntry{special("passwd", tar.TypeSymlink, "/etc/passwd")}, PackLimits{}, ErrUnsafeEntry},
		{"symlink then a file through it", []tarEntry{special("l", tar.TypeSymlink, "/tmp"), reg("l/evil", "x")}, PackLimits{}, ErrUnsafeEntry},
		{"hard link", []tarEntry{reg("run", "x"), special("h", tar.TypeLink, "run")}, PackLimits{}, ErrUnsafeEntry},
		{"hard link outside", []tarEntry{special("h", tar.TypeLink, "/etc/shadow")}, PackLimits{}, ErrUnsafeEntry},
		{"character device", []tarEntry{special("null", tar.TypeChar, "")}, PackLimits{}, ErrUnsafeEntry},
		{"block device", []tarEntry{special("sda", tar.TypeBlock, "")}, PackLimits{}, ErrUnsafeEntry},
		{"named pipe", []tarEntry{special("fifo", tar.TypeFifo, "")}, PackLimits{}, ErrUnsafeEntry},
		{"same file twice", []tarEntry{reg("run", "good"), reg("run", "evil")}, PackLimits{}, ErrUnsafeEntry},
		{"one file over the byte limit", []tarEntry{reg("big", strings.Repeat("x", 1<<10+1))}, small, ErrTooLarge},
		{"files over the byte limit together", []tarEntry{reg("a", strings.Repeat("x", 600)), reg("b", strings.Repeat("x", 600))}, small, ErrTooLarge},
		{"over the entry limit", many, small, ErrTooLarge},
		{"directories count as entries", append(many[:10:10], dirEntry("d/")), small, ErrTooLarge},
		// One entry must not make thousands of folders.
		{"folders on a file's way count as entries", []tarEntry{reg("a/b/c/d/e/f/g/h/i/j/k", "x")}, small, ErrTooLarge},
		{"a path of more than 32 levels", []tarEntry{reg(strings.Repeat("d/", 32)+"f", "x")}, PackLimits{}, ErrTooLarge},
		{"a folder of more than 32 levels", []tarEntry{dirEntry(strings.Repeat("d/", 33))}, PackLimits{}, ErrTooLarge},
		{"a path of more than 1024 bytes", []tarEntry{reg(strings.Repeat("n", 1025), "x")}, PackLimits{}, ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "task")
			err := Extract(bytes.NewReader(buildArchive(t, c.entries...)), dir, c.limits)
			if !errors.Is(err, c.want) {
				t.Fatalf("Extract: err = %v, want %v", err, c.want)
			}
			assertOnly(t, parent, "task")
		})
	}
}

// TestExtractBomb: a small archive of a huge file is refused on its header,
// before a byte of it is written.
func TestExtractBomb(t *testing.T) {
	huge := tarEntry{hdr: tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: 16 << 20}, body: string(make([]byte, 16<<20))}
	data := buildArchive(t, huge)
	if len(data) > 1<<20 {
		t.Fatalf("the bomb is %d bytes, not small", len(data))
	}
	dir := t.TempDir()
	err := Extract(bytes.NewReader(data), dir, PackLimits{MaxBytes: 1 << 20})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if got := readTree(t, dir); len(got) != 0 {
		t.Errorf("wrote %v", got)
	}
}

// TestExtractThroughExistingSymlink: a link already in the target directory
// does not take the archive's files out of it.
func TestExtractThroughExistingSymlink(t *testing.T) {
	parent := t.TempDir()
	outside := filepath.Join(parent, "outside")
	must(t, os.Mkdir(outside, 0o755))
	dir := filepath.Join(parent, "task")
	must(t, os.Mkdir(dir, 0o755))
	must(t, os.Symlink(outside, filepath.Join(dir, "out")))

	err := Extract(bytes.NewReader(buildArchive(t, reg("out/evil", "x"))), dir, PackLimits{})
	if err == nil {
		t.Fatal("Extract wrote through a link that leaves the directory")
	}
	if got := readTree(t, outside); len(got) != 0 {
		t.Errorf("wrote outside: %v", got)
	}
}

func TestExtractBadStreams(t *testing.T) {
	good := buildArchive(t, reg("run", strings.Repeat("echo hi\n", 1000)))
	cases := map[string][]byte{
		"not gzip":      []byte("PK\x03\x04 a zip file"),
		"empty":         nil,
		"truncated":     good[:len(good)/2],
		"gzip, not tar": gzipOf(t, []byte(strings.Repeat("not a tar header ", 100))),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if err := Extract(bytes.NewReader(data), t.TempDir(), PackLimits{}); err == nil {
				t.Error("Extract succeeded")
			}
		})
	}
}

func TestExtractCreatesParents(t *testing.T) {
	dir := t.TempDir()
	err := Extract(bytes.NewReader(buildArchive(t, reg("a/b/c", "x"))), dir, PackLimits{})
	must(t, err)
	got := readTree(t, dir)
	if got["a/b/c"].body != "x" || !got["a/b"].dir || got["a/b"].mode != 0o755 {
		t.Errorf("got %v", got)
	}
}

// assertOnly fails unless dir holds exactly the given names (and whatever
// is below them): nothing escaped next to the extraction directory.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	must(t, err)
	var got []string
	for _, de := range des {
		got = append(got, de.Name())
	}
	if !reflect.DeepEqual(got, names) {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}

// TestExtractInflationBounded: what Extract reads out of the gzip stream
// is bounded, headers included, not only the files it writes: PAX records
// (a comment, ignored) of 32 KiB before a file of one byte took no bound
// before. An archive within the limits passes, however many of its
// entries (headers of 512 bytes each) the limits admit.
func TestExtractInflationBounded(t *testing.T) {
	limits := PackLimits{MaxBytes: 2 << 10, MaxFiles: 2}
	padded := func(n int) tarEntry {
		e := reg("run", "x")
		e.hdr.Format = tar.FormatPAX
		e.hdr.PAXRecords = map[string]string{"comment": strings.Repeat("c", n)}
		return e
	}
	if err := Extract(bytes.NewReader(buildArchive(t, padded(1<<10))), t.TempDir(), limits); err != nil {
		t.Fatalf("an archive within the bound: %v", err)
	}
	err := Extract(bytes.NewReader(buildArchive(t, padded(32<<10))), t.TempDir(), limits)
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrInflated) {
		t.Fatalf("err = %v, want ErrTooLarge and ErrInflated", err)
	}
	var empty []tarEntry
	for i := range 200 {
		empty = append(empty, reg(fmt.Sprintf("f%03d", i), ""))
	}
	if err := Extract(bytes.NewReader(buildArchive(t, empty...)), t.TempDir(), PackLimits{MaxBytes: 1 << 10, MaxFiles: 200}); err != nil {
		t.Errorf("200 empty files within limits of 1 KiB and 200 entries: %v", err)
	}
}
