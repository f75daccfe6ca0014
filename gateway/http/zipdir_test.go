package api

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// centralDirectoryZip is a zip that is all central directory: records
// central directory records of 47 bytes, each naming "a" and pointing at
// one local header at offset 0, then a zip64 end of central directory
// (the count does not fit 16 bits).
func centralDirectoryZip(records int) []byte {
	var b bytes.Buffer
	le := func(vs ...any) {
		for _, v := range vs {
			_ = binary.Write(&b, binary.LittleEndian, v)
		}
	}
	le(uint32(0x04034b50), uint16(20), uint16(0), uint16(0), uint16(0), uint16(0), uint32(0), uint32(0), uint32(0), uint16(1), uint16(0))
	b.WriteString("a")
	cdOff := b.Len()
	var rec bytes.Buffer
	for _, v := range []any{uint32(0x02014b50), uint16(20), uint16(20), uint16(0), uint16(0), uint16(0), uint16(0),
		uint32(0), uint32(0), uint32(0), uint16(1), uint16(0), uint16(0), uint16(0), uint16(0), uint32(0), uint32(0)} {
		_ = binary.Write(&rec, binary.LittleEndian, v)
	}
	one := append(rec.Bytes(), 'a')
	b.Write(bytes.Repeat(one, records))
	cdSize := b.Len() - cdOff
	z64 := b.Len()
	le(uint32(0x06064b50), uint64(44), uint16(45), uint16(45), uint32(0), uint32(0), uint64(records), uint64(records), uint64(cdSize), uint64(cdOff))
	le(uint32(0x07064b50), uint32(0), uint64(z64), uint32(1))
	le(uint32(0x06054b50), uint16(0), uint16(0), uint16(0xffff), uint16(0xffff), uint32(0xffffffff), uint32(0xffffffff), uint16(0))
	return b.Bytes()
}

// TestZipCentralDirectoryIsCountedFirst: archive/zip keeps every central
// directory record it reads (some 200 bytes of heap each) before Extract
// can count entries, whatever count the archive announces. Before, a 60
// MiB upload of 1.3 million records held about 255 MB of the API's heap,
// 8 times the upload memory its request reserved. The records are now
// counted on the file first, and too many are refused unread.
func TestZipCentralDirectoryIsCountedFirst(t *testing.T) {
	data := centralDirectoryZip(maxZipHeaders + 1)
	if zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data))); err != nil || len(zr.File) != maxZipHeaders+1 {
		t.Fatalf("the crafted zip: %v", err) // archive/zip must read it all, or the test proves nothing
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "archive")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err = extractTask(f, filepath.Join(dir, "out"))
	runtime.ReadMemStats(&after)
	var he *httpError
	if !errors.As(err, &he) || he.status != http.StatusBadRequest || he.code != "archive_too_large" || !strings.Contains(he.message, "directory records") || strings.Contains(he.message, "gzip") {
		t.Errorf("got %v, want 400 archive_too_large naming the directory records", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
		t.Errorf("refusing it allocated %d MiB", got>>20)
	}
	// A real zip, and the count across the reads' boundaries.
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for _, name := range []string{"run", "task.yaml"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("#!/bin/sh\n"))
	}
	zw.Close()
	if n, err := countZipHeaders(bytes.NewReader(zb.Bytes()), int64(zb.Len()), 10); err != nil || n != 2 {
		t.Errorf("a zip of 2 files: %d records, %v", n, err)
	}
	for _, at := range []int{1<<20 - 4, 1<<20 - 3, 1<<20 - 2, 1<<20 - 1, 1 << 20} {
		buf := make([]byte, 3<<20)
		copy(buf[at:], zipCentralSig)
		if n, _ := countZipHeaders(bytes.NewReader(buf), int64(len(buf)), 10); n != 1 {
			t.Errorf("a signature at %d counted %d times", at, n)
		}
	}
}
