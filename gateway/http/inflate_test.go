package api

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// paxChain is a tar stream of n PAX extended headers in a row, each of
// about size bytes, then a run file: Go's tar reader reads the whole
// chain, and keeps only the last.
func paxChain(t *testing.T, n, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	rec := func(payload int) string {
		body := " comment=" + strings.Repeat("x", payload) + "\n"
		// The length prefix counts itself.
		for l := len(body) + 1; ; l++ {
			if s := fmt.Sprint(l) + body; len(s) == l {
				return s
			}
		}
	}
	for range n {
		data := rec(size)
		var hb bytes.Buffer
		tw := tar.NewWriter(&hb)
		if err := tw.WriteHeader(&tar.Header{Name: "PaxHeaders/x", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
		hdr := hb.Bytes()[:512]
		hdr[156] = tar.TypeXHeader
		copy(hdr[148:156], "        ")
		sum := 0
		for _, b := range hdr {
			sum += int(b)
		}
		copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", sum))
		buf.Write(hdr)
		buf.WriteString(data)
		buf.Write(make([]byte, (512-len(data)%512)%512))
	}
	tw := tar.NewWriter(&buf)
	run := "#!/bin/sh\n"
	if err := tw.WriteHeader(&tar.Header{Name: "run", Mode: 0o755, Size: int64(len(run)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(run))
	tw.Close()
	return buf.Bytes()
}

// skippedData is a tar stream whose "." entry (the folder itself) carries size bytes that
// the conversion skips without writing, then a run file.
func skippedData(t *testing.T, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: ".", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(make([]byte, size))
	run := "#!/bin/sh\n"
	tw.WriteHeader(&tar.Header{Name: "run", Mode: 0o755, Size: int64(len(run)), Typeflag: tar.TypeReg})
	tw.Write([]byte(run))
	tw.Close()
	return buf.Bytes()
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	gw.Write(b)
	gw.Close()
	return buf.Bytes()
}

// TestArchiveInflationBounded: a small upload that unpacks to much more
// than a task folder's files (a chain of PAX headers, the data of a
// skipped entry) is refused once the bytes read out of it pass
// maxInflated, headers included, and any archive once it takes longer
// than unpackTime; a real task still passes. Before the bound the first
// two were read to their end and accepted: with the default bound, 64
// MiB of gzip made gigabytes of work.
func TestArchiveInflationBounded(t *testing.T) {
	oldMax, oldTime := maxInflated, unpackTime
	t.Cleanup(func() { maxInflated, unpackTime = oldMax, oldTime })
	const bound = 4 << 20
	for _, tc := range []struct {
		name    string
		archive func(t *testing.T) []byte
		time    time.Duration
		words   []string // of the 400 archive_too_large; none: accepted
	}{
		{"a real task", func(t *testing.T) []byte {
			return tarGz(t, map[string]string{"run": "#!/bin/sh\n", "task.yaml": "name: t\n"}, nil)
		}, time.Minute, nil},
		{"chained PAX headers, gzipped", func(t *testing.T) []byte { return gzipBytes(t, paxChain(t, 8, 1000<<10)) },
			time.Minute, []string{"more than 4 MiB", "PAX"}},
		{"chained PAX headers, plain tar", func(t *testing.T) []byte { return paxChain(t, 8, 1000<<10) },
			time.Minute, []string{"more than 4 MiB"}},
		{"a skipped entry's data", func(t *testing.T) []byte { return gzipBytes(t, skippedData(t, 8<<20)) },
			time.Minute, []string{"more than 4 MiB", "skipped"}},
		{"out of time", func(t *testing.T) []byte {
			return tarGz(t, map[string]string{"run": "#!/bin/sh\n"}, nil)
		}, 0, []string{"took more than 0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			maxInflated, unpackTime = bound, tc.time
			dir := t.TempDir()
			path := filepath.Join(dir, "archive")
			if err := os.WriteFile(path, tc.archive(t), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			err = extractTask(f, filepath.Join(dir, "out"))
			if tc.words == nil {
				if err != nil {
					t.Fatalf("a real task was refused: %v", err)
				}
				return
			}
			var he *httpError
			if !errors.As(err, &he) || he.status != http.StatusBadRequest || he.code != "archive_too_large" {
				t.Fatalf("got %v, want 400 archive_too_large", err)
			}
			for _, w := range tc.words {
				if !strings.Contains(he.message, w) {
					t.Errorf("%q does not say %q", he.message, w)
				}
			}
		})
	}
}
