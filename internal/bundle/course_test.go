package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPackCourse(t *testing.T) {
	task, common := t.TempDir(), t.TempDir()
	for p, c := range map[string]string{
		filepath.Join(task, "run"):               "#!/bin/sh\n",
		filepath.Join(common, "lib.py"):          "x = 1\n",
		filepath.Join(common, "sub", "data.txt"): "d",
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := PackCourse(task, common, PackLimits{})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.data))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	want := []string{"$common/", "$common/lib.py", "$common/sub/", "$common/sub/data.txt", "run"}
	if !slices.Equal(names, want) {
		t.Errorf("entries %q, want %q", names, want)
	}
	// The same content gives the same digest; without common, another.
	again, _ := PackCourse(task, common, PackLimits{})
	alone, _ := Pack(task, PackLimits{})
	if again.Digest() != b.Digest() || alone.Digest() == b.Digest() {
		t.Errorf("digests: %s %s %s", b.Digest(), again.Digest(), alone.Digest())
	}
	// A task folder with its own $common cannot take the course's.
	if err := os.Mkdir(filepath.Join(task, CommonDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := PackCourse(task, common, PackLimits{}); !errors.Is(err, ErrUnsupportedFile) {
		t.Errorf("task with its own $common: %v", err)
	}
	// The limits bound both folders together.
	if _, err := PackCourse(t.TempDir(), common, PackLimits{MaxFiles: 2}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over MaxFiles: %v", err)
	}
}
