package messages_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// FuzzDecode feeds Decode arbitrary bytes, starting from the golden files.
// Decode must never panic; what it refuses must wrap ErrMalformed; what it
// accepts must encode again, decode to an equal value (nil and empty slices
// and maps aside, see sameValue), and encode to the same bytes (so a message
// relayed by the backend is what the client sent).
//
//	go test ./messages -run '^$' -fuzz FuzzDecode -fuzztime 30s
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.cbor"))
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatal("no golden files to seed from")
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add([]byte{0xd9, 0x9b, 0xdc, 0xa0})

	f.Fuzz(func(t *testing.T, data []byte) {
		// The registry's direct lookup of a tag decodes as the decoder's own
		// (both after the count of free-form values, which the decoder's
		// own would build past MaxFreeFormItems; the fuzzer makes no input
		// that large: TestDecodeBoundsFreeFormItems holds them to it).
		// No message and no error is a refusal (Decode says so): the
		// decoder's own lookup gives it for a registered tag around
		// another tag and undefined, where the typed decode refuses the
		// tags.
		fast, ferr := messages.DecodeTagged(data)
		slow, serr := messages.DecodeAnyCounted(data)
		refusedFast, refusedSlow := ferr != nil || fast == nil, serr != nil || slow == nil
		if refusedFast != refusedSlow || (!refusedFast && !reflect.DeepEqual(fast, slow)) {
			t.Fatalf("typed decode %#v, %v; the decoder's own %#v, %v", fast, ferr, slow, serr)
		}
		// Decode skips the free-form check for what the hand-written
		// decoders took: it must pass it.
		if fm, ok := messages.FastDecode(data); ok {
			if err := messages.CheckFreeForm(fm); err != nil {
				t.Fatalf("the fast path took %#v, which the free-form check refuses: %v", fm, err)
			}
		}
		m, err := decode(t, data)
		if err == nil && m == nil {
			t.Fatal("nil message without an error")
		}
		if err != nil {
			if !errors.Is(err, messages.ErrMalformed) {
				t.Fatalf("error %q does not wrap ErrMalformed", err)
			}
			if m != nil {
				t.Fatalf("returned %#v along with the error", m)
			}
			return
		}
		enc, err := messages.Encode(m)
		if err != nil {
			t.Fatalf("decoded %#v but cannot encode it: %v", m, err)
		}
		// The hand-written encoders write what the reflective one does.
		if ref, err := messages.EncodeReflective(m); err != nil || !bytes.Equal(ref, enc) {
			t.Fatalf("Encode wrote %x; the reflective encoder %x, %v", enc, ref, err)
		}
		again, err := decode(t, enc)
		if err == nil && again == nil {
			t.Fatal("nil message without an error")
		}
		if err != nil {
			t.Fatalf("decoded %#v, encoded %x, cannot decode that: %v", m, enc, err)
		}
		if !sameValue(again, m) {
			t.Fatalf("round trip changed the value:\n first %#v\nsecond %#v", m, again)
		}
		enc2, err := messages.Encode(again)
		if err != nil {
			t.Fatalf("second encode: %v", err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable:\n first %x\nsecond %x", enc, enc2)
		}
	})
}
