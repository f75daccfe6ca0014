package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A 5 MiB upload fits a job of ingo up (its NATS carries 8 MiB) and the
// HTTP API takes it: ingo submit -f must not refuse it first. The bound
// that matters is the server's max_payload, which the client checks
// with a message that names it.
func TestSubmitFileOverFourMiB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(5 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, err := readInputFile(path)
	if err != nil {
		t.Fatalf("a 5 MiB file refused: %v", err)
	}
	if len(b) != 5<<20 {
		t.Fatalf("read %d bytes", len(b))
	}
}
