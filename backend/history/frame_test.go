package history

import (
	"bytes"
	"testing"
)

// Frames written are read back, each in place; cut or garbled frames are
// an error, never a panic or a read past the data.
func FuzzFrames(f *testing.F) {
	f.Add([]byte("abc"), []byte(""), []byte{0xff, 0x01})
	f.Add([]byte{}, []byte{0x80}, []byte("x"))
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		var data []byte
		for _, p := range [][]byte{a, b, c} {
			data = appendFrame(data, p)
		}
		got, err := frames(data, 3)
		if err != nil || len(got) != 3 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) || !bytes.Equal(got[2], c) {
			t.Fatalf("frames of %x: %q, %v", data, got, err)
		}
		for i, p := range [][]byte{a, b, c} {
			if f, err := frameAt(data, i); err != nil || !bytes.Equal(f, p) {
				t.Fatalf("frame %d: %q, %v", i, f, err)
			}
		}
		if _, err := frameAt(data, 3); err == nil {
			t.Fatal("a fourth frame read")
		}
		if got, err := frames(data, 2); err == nil || len(got) != 2 {
			t.Fatalf("three frames, at most 2: %d, %v", len(got), err)
		}
		// Any bytes at all: an error or frames within them.
		for _, junk := range [][]byte{a, data[:len(data)-1], append(bytes.Clone(b), c...)} {
			fs, err := frames(junk, 1<<20)
			total := 0
			for _, f := range fs {
				total += len(f)
			}
			if err == nil && total > len(junk) {
				t.Fatalf("frames of %x hold %d bytes", junk, total)
			}
			_, _ = frameAt(junk, 1)
		}
	})
}
