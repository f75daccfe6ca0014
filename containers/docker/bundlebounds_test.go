package docker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/messages"
)

// TestBundleBoundsMatchPack: the agent accepts every bundle Pack and
// PackCourse make (a task folder and its common folder, each at Pack's
// bounds) and no more.
func TestBundleBoundsMatchPack(t *testing.T) {
	if maxBundleEntries != bundle.DefaultMaxFiles+1 || maxBundleFileBytes != 2*bundle.DefaultMaxBytes || commonDir != bundle.CommonDir {
		t.Errorf("bounds %d entries, %d bytes; Pack's %d and %d", maxBundleEntries, maxBundleFileBytes, bundle.DefaultMaxFiles, bundle.DefaultMaxBytes)
	}
}

// rawBundle is a bundle of bytes as a frontend may store them.
type rawBundle []byte

func (b rawBundle) Digest() string               { return "sha256:raw" }
func (b rawBundle) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }

func gzipped(t *testing.T, data []byte) []byte {
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

// tarOf is a tar of the headers (regular files get Size bytes of x).
func tarOf(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bytes.Repeat([]byte("x"), int(h.Size))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// announced is a tar whose one file says it has size bytes, and has
// none of them.
func announced(t *testing.T, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "big", Mode: 0o644, Size: size, Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	return append(buf.Bytes(), make([]byte, 1024)...)
}

// paxBlock is one PAX extended header of about 1 MiB (the most Go's tar
// reader takes in one), which the reader chains to the next header.
func paxBlock() []byte {
	value := strings.Repeat("a", 1<<20-64)
	rec := ""
	for n := len(value) + 12; ; n++ {
		rec = fmt.Sprintf("%d comment=%s\n", n, value)
		if len(rec) == n {
			break
		}
	}
	h := make([]byte, 512)
	copy(h, "pax")
	copy(h[100:], "0000644\x00")
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], fmt.Sprintf("%011o\x00", len(rec)))
	copy(h[136:], "00000000000\x00")
	h[156] = tar.TypeXHeader
	copy(h[257:], "ustar\x0000")
	copy(h[148:], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	body := make([]byte, (len(rec)+511)/512*512)
	copy(body, rec)
	return append(h, body...)
}

// TestBundleBounds: bundles a frontend may store that no Pack makes are
// refused early, whatever they decompress to; before, the agent copied
// them whole into its memory (folders with 1 MB names: 1.3 GB from a
// 316 KB bundle) or read on for minutes (chained PAX headers in
// concatenated gzip members).
func TestBundleBounds(t *testing.T) {
	longName := strings.Repeat("d/", 200) + "f"
	hugeName := strings.Repeat("n", 512<<10)
	var many []*tar.Header
	for i := range maxBundleEntries + 1 {
		many = append(many, &tar.Header{Typeflag: tar.TypeDir, Name: fmt.Sprintf("d%d/", i), Mode: 0o755, Format: tar.FormatPAX})
	}
	member := gzipped(t, paxBlock())
	chained := bytes.Repeat(member, maxBundleTarBytes>>20+2)
	for _, tt := range []struct {
		name   string
		bundle []byte
	}{
		{"a name of 512 KiB", gzipped(t, tarOf(t, &tar.Header{Typeflag: tar.TypeDir, Name: hugeName + "/", Mode: 0o755, Format: tar.FormatPAX}))},
		{"too deep", gzipped(t, tarOf(t, &tar.Header{Typeflag: tar.TypeReg, Name: longName, Mode: 0o644, Format: tar.FormatPAX}))},
		{"too many entries", gzipped(t, tarOf(t, many...))},
		{"a file of 100 GiB announced", gzipped(t, announced(t, 100<<30))},
		{"chained headers past the stream's bound", chained},
	} {
		t.Run(tt.name, func(t *testing.T) {
			job := &containers.Job{Desc: &messages.JobDescription{}, Task: rawBundle(tt.bundle)}
			_, _, err := containerTar(t.Context(), job, nil)
			if !errors.Is(err, errBundleBounds) {
				t.Errorf("containerTar = %v, want errBundleBounds", err)
			}
			var fail *containers.Failure
			if !errors.As(err, &fail) || !strings.Contains(fail.Public, "task files") {
				t.Errorf("containerTar = %v, want a Failure about the task files", err)
			}
		})
	}
}

// TestBundleReadStopsWithTheJob: a job that ends while its bundle is read
// stops the reading, with the job's cause.
func TestBundleReadStopsWithTheJob(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "run"), "#!/bin/sh\n", 0o755)
	b, err := bundle.Pack(dir, bundle.PackLimits{})
	if err != nil {
		t.Fatal(err)
	}
	job := &containers.Job{Desc: &messages.JobDescription{}, Task: b}
	if _, _, err := containerTar(t.Context(), job, nil); err != nil {
		t.Fatalf("a packed task: %v", err)
	}
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(containers.ErrKilled)
	if _, _, err := containerTar(ctx, job, nil); !errors.Is(err, containers.ErrKilled) {
		t.Errorf("containerTar after the kill = %v, want ErrKilled", err)
	}
}
