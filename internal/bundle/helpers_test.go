package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// file is one entry of a test tree: a directory when dir is set.
type file struct {
	body string
	mode fs.FileMode
	dir  bool
}

// writeTree creates files under dir; parents are made as needed.
func writeTree(t *testing.T, dir string, files map[string]file) {
	t.Helper()
	for name, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if f.dir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := f.mode
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(p, []byte(f.body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
}

// sampleTask is a small INGInious-like task folder.
func sampleTask() map[string]file {
	return map[string]file{
		"run":                {body: "#!/bin/sh\nfeedback-result success\n", mode: 0o755},
		"task.yaml":          {body: "name: malloc\nenvironment_id: cpp\n"},
		"student/template.c": {body: "void *my_malloc(size_t n) { @@q1@@ }\n"},
		"student/Makefile":   {body: "all:\n\tcc -o t template.c\n", mode: 0o600},
		"tests/empty":        {dir: true},
	}
}

func packTree(t *testing.T, files map[string]file) *Bundle {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, files)
	b, err := Pack(dir, PackLimits{})
	if err != nil {
		t.Fatalf("Pack: %v", err)
	}
	return b
}

// tarEntry is one entry of a hand-built archive.
type tarEntry struct {
	hdr  tar.Header
	body string
}

func reg(name, body string) tarEntry {
	return tarEntry{tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body}
}

// buildArchive writes entries as a .tar.gz, as a hostile client could.
func buildArchive(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := e.hdr
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatalf("header %q: %v", hdr.Name, err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// listArchive returns the headers and bodies of a bundle, in order.
func listArchive(t *testing.T, b *Bundle) ([]*tar.Header, map[string]string) {
	t.Helper()
	r, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var hdrs []*tar.Header
	bodies := map[string]string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return hdrs, bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		hdrs = append(hdrs, hdr)
		bodies[hdr.Name] = string(body)
	}
}

// readTree lists dir as file entries, for comparing with what was packed.
func readTree(t *testing.T, dir string) map[string]file {
	t.Helper()
	out := map[string]file{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[filepath.ToSlash(rel)] = file{dir: true, mode: info.Mode().Perm()}
			return nil
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = file{body: string(body), mode: info.Mode().Perm()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gzipOf(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
