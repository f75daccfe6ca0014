package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits are small, so that the fuzzer reaches them.
var fuzzLimits = PackLimits{MaxBytes: 4 << 10, MaxFiles: 16}

// FuzzExtract feeds Extract any tar (gzipped here, so that the fuzzer
// mutates the archive, not the compression) and checks what an archive from
// anyone must never do: panic, write outside its folder, leave anything but
// files and folders, or go over its limits. Run it longer with
//
//	TMPDIR=/dev/shm go test -run '^$' -fuzz FuzzExtract -fuzztime 60s ./internal/bundle
//
// (on a tmpfs: each run makes and removes folders, which ext4 makes slow,
// and the fuzzer shows its count of runs only now and then)
func FuzzExtract(f *testing.F) {
	dir := func(name string) tarEntry {
		return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
	}
	link := func(typ byte, name, target string) tarEntry {
		return tarEntry{hdr: tar.Header{Name: name, Typeflag: typ, Linkname: target, Mode: 0o777}}
	}
	seeds := [][]tarEntry{
		{dir("task/"), reg("task/run", "#!/bin/sh\n"), reg("task/student/a.c", "int main;")},
		{reg("../escape", "x")},
		{reg("/abs", "x")},
		{link(tar.TypeSymlink, "l", "/etc"), reg("l/passwd", "x")},
		{link(tar.TypeLink, "h", "../x")},
		{reg("a", "x"), reg("a", "y")},
		{reg("a", "x"), reg("a/b", "y")},
		{reg("big", string(make([]byte, 5<<10)))},
		{{hdr: tar.Header{Name: "fifo", Typeflag: tar.TypeFifo}}},
		{{hdr: tar.Header{Name: "pax", Typeflag: tar.TypeReg, Size: 1, PAXRecords: map[string]string{"comment": string(make([]byte, 8<<10))}}, body: "x"}},
	}
	for _, s := range seeds {
		f.Add(tarOf(f, s))
	}
	f.Fuzz(func(t *testing.T, archive []byte) {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(archive)
		zw.Close()
		parent := t.TempDir()
		out := filepath.Join(parent, "out")
		_ = Extract(&gz, out, fuzzLimits) // any error is fine; what it left is checked

		if names, err := os.ReadDir(parent); err != nil || len(names) > 1 {
			t.Fatalf("beside the folder: %v %v", names, err)
		}
		var files int
		var size int64
		err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == out {
				return err
			}
			files++
			info, err := d.Info()
			if err != nil {
				return err
			}
			switch {
			case info.Mode().IsRegular():
				size += info.Size()
			case info.IsDir():
			default:
				t.Errorf("%s is a %v", p, info.Mode().Type())
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if files > fuzzLimits.MaxFiles || size > fuzzLimits.MaxBytes {
			t.Errorf("%d entries and %d bytes, over the limits %+v", files, size, fuzzLimits)
		}
	})
}

// tarOf writes entries as a tar, without compression.
func tarOf(f *testing.F, entries []tarEntry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.hdr
		hdr.Size = int64(len(e.body))
		if err := tw.WriteHeader(&hdr); err != nil {
			f.Fatalf("header %q: %v", hdr.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			f.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}
