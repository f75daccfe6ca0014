package messages_test

import (
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// BenchmarkDecode decodes each sample message, the small messages of a
// job's round trip first; the reference is the decoder's own lookup of
// the tag (what Decode did before it used the registry's index).
//
//	go test ./messages -run '^$' -bench Decode -benchmem
func BenchmarkDecode(b *testing.B) {
	for _, m := range samples() {
		data, err := messages.Encode(m)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(m.MessageName(), func(b *testing.B) {
			for b.Loop() {
				if _, err := messages.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(m.MessageName()+"/reference", func(b *testing.B) {
			for b.Loop() {
				if _, err := messages.DecodeAny(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode encodes each sample message.
//
//	go test ./messages -run '^$' -bench Encode -benchmem
func BenchmarkEncode(b *testing.B) {
	for _, m := range samples() {
		b.Run(m.MessageName(), func(b *testing.B) {
			for b.Loop() {
				if _, err := messages.Encode(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
