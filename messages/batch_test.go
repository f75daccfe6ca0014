package messages_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// items returns n encoded messages, the i-th an Ack with a job id of
// size(i) bytes.
func items(t testing.TB, n int, size func(i int) int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range out {
		id := fmt.Sprintf("%d-", i)
		id += strings.Repeat("x", max(0, size(i)-len(id)))
		b, err := messages.Encode(&messages.Ack{JobID: id, Attempt: i + 1})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// unpack packs in, splits every payload and returns the payloads and the
// items found again, in order.
func unpack(t *testing.T, in [][]byte, maxBytes int) (payloads, out [][]byte) {
	t.Helper()
	err := messages.Pack(in, maxBytes, func(p []byte, n int) error {
		payloads = append(payloads, p)
		got, err := messages.Split(p)
		if err != nil {
			t.Fatalf("split a packed payload: %v", err)
		}
		if len(got) != n {
			t.Fatalf("Pack says %d messages, the payload holds %d", n, len(got))
		}
		out = append(out, got...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return payloads, out
}

func TestPackSplit(t *testing.T) {
	small := func(int) int { return 10 }
	for _, tc := range []struct {
		name     string
		in       [][]byte
		maxBytes int
		payloads int
	}{
		{"one message goes alone, as before batches", items(t, 1, small), 0, 1},
		{"two", items(t, 2, small), 0, 1},
		{"23 (one-byte array head)", items(t, 23, small), 0, 1},
		{"24 (two-byte array head)", items(t, 24, small), 0, 1},
		{"256 (three-byte array head)", items(t, 256, small), 0, 1},
		{"MaxBatchItems", items(t, messages.MaxBatchItems, small), 0, 1},
		{"one over MaxBatchItems: the last alone", items(t, messages.MaxBatchItems+1, small), 0, 2},
		{"bounded by maxBytes: 9 items of ~1 KB each", items(t, 100, func(int) int { return 1000 }), 10_000, 12},
		{"an item over maxBytes goes alone", items(t, 3, func(i int) int { return 1000 + 9000*(i%2) }), 5_000, 3},
		{"items of 70 KB (four-byte heads)", items(t, 3, func(int) int { return 70_000 }), 0, 1},
		{"a zero bound means MaxBatchBytes", items(t, 40, func(int) int { return 50_000 }), 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payloads, out := unpack(t, tc.in, tc.maxBytes)
			if len(payloads) != tc.payloads {
				t.Errorf("%d payloads, want %d", len(payloads), tc.payloads)
			}
			if !slices.EqualFunc(out, tc.in, bytes.Equal) {
				t.Fatalf("items differ after a pack and a split (%d in, %d out)", len(tc.in), len(out))
			}
			limit := tc.maxBytes
			if limit == 0 {
				limit = messages.MaxBatchBytes
			}
			for i, p := range payloads {
				if len(p) > limit && messages.IsBatch(p) {
					t.Errorf("payload %d: a batch of %d bytes, over the bound of %d", i, len(p), limit)
				}
				if !messages.IsBatch(p) && !slices.ContainsFunc(tc.in, func(b []byte) bool { return bytes.Equal(b, p) }) {
					t.Errorf("payload %d is neither a batch nor one of the items", i)
				}
			}
		})
	}
}

// The hand-written encoding is Encode's, byte for byte: receivers decode
// it with the strict decoder, and the golden file fixes it for peers.
func TestPackEncodesAsEncode(t *testing.T) {
	for _, n := range []int{2, 23, 24, 255, 256, 1024} {
		for _, size := range []int{5, 30, 300, 70_000} {
			if n*size > 8<<20 {
				continue
			}
			in := items(t, n, func(int) int { return size })
			var got []byte
			_ = messages.Pack(in, 64<<20, func(p []byte, _ int) error { got = p; return nil })
			want, err := messages.Encode(&messages.Batch{Messages: in})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) && n*size < messages.MaxBatchBytes {
				t.Errorf("%d items of %d bytes: Pack's batch differs from Encode's", n, size)
			}
		}
	}
}

func TestSplitRefuses(t *testing.T) {
	ack := items(t, 1, func(int) int { return 4 })[0]
	batch := func(ms ...[]byte) []byte {
		b, err := messages.Encode(&messages.Batch{Messages: ms})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tooMany := make([][]byte, messages.MaxBatchItems+1)
	for i := range tooMany {
		tooMany[i] = ack
	}
	for _, tc := range []struct {
		name   string
		data   []byte
		nested bool
	}{
		{"no message", batch(), false},
		{"null messages", batch(nil...), false},
		{"a batch in a batch", batch(ack, batch(ack, ack)), true},
		{"over MaxBatchItems", batch(tooMany...), false},
		{"truncated", batch(ack, ack)[:20], false},
		{"the prefix alone", batch(ack, ack)[:3], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := messages.Split(tc.data)
			if !errors.Is(err, messages.ErrMalformed) {
				t.Fatalf("Split = %d items, %v; want ErrMalformed", len(got), err)
			}
			if errors.Is(err, messages.ErrNestedBatch) != tc.nested {
				t.Errorf("ErrNestedBatch: %v, want %v (%v)", !tc.nested, tc.nested, err)
			}
		})
	}
	// What is not a batch is one message, handed back as it is, whether
	// or not it decodes: that is for Decode to say.
	for _, data := range [][]byte{ack, {}, []byte("garbage")} {
		got, err := messages.Split(data)
		if err != nil || len(got) != 1 || !bytes.Equal(got[0], data) {
			t.Errorf("Split(%x) = %x, %v; want it back alone", data, got, err)
		}
	}
}

// FuzzSplit: Split never panics, refuses with ErrMalformed, reads what it
// accepts as the strict reflective decoder does, and what it accepts
// packs again into batches that split to the same items.
//
//	go test ./messages -run '^$' -fuzz FuzzSplit -fuzztime 30s
func FuzzSplit(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "Batch.cbor"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte{0xd9, 0x9b, 0xf5, 0xa0})
	f.Add(items(f, 1, func(int) int { return 3 })[0])
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := messages.Split(data)
		if err != nil {
			if !errors.Is(err, messages.ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
			return
		}
		if !messages.IsBatch(data) {
			return
		}
		slow, err := messages.DecodeBatch(data)
		if err != nil {
			t.Fatalf("Split accepts a batch the strict decoder refuses: %v", err)
		}
		if !slices.EqualFunc(slow, got, bytes.Equal) {
			t.Fatal("Split and the strict decoder read different items")
		}
		_, again := unpack(t, got, 0)
		if !slices.EqualFunc(again, got, bytes.Equal) {
			t.Fatal("items differ after packing them again")
		}
	})
}
