package messages_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// TestRoundTrip covers every registered type twice: its zero value (nil
// maps and slices, empty strings) and a realistic sample.
func TestRoundTrip(t *testing.T) {
	type tc struct {
		name string
		msg  messages.Message
	}
	var cases []tc
	for _, m := range messages.All() {
		cases = append(cases, tc{"zero/" + m.MessageName(), m})
	}
	for _, m := range samples() {
		cases = append(cases, tc{"sample/" + m.MessageName(), m})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, err := messages.Encode(c.msg)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got, err := messages.Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if reflect.TypeOf(got) != reflect.TypeOf(c.msg) {
				t.Fatalf("decoded a %T, want %T", got, c.msg)
			}
			if !reflect.DeepEqual(got, c.msg) {
				t.Errorf("decoded\n %#v\nwant\n %#v", got, c.msg)
			}
			again, err := messages.Encode(got)
			if err != nil {
				t.Fatalf("re-Encode: %v", err)
			}
			if !bytes.Equal(again, data) {
				t.Errorf("re-encoding differs:\n got %x\nwant %x", again, data)
			}
		})
	}
}

func TestEncodeNil(t *testing.T) {
	for _, m := range []messages.Message{nil, (*messages.ClientHello)(nil)} {
		if _, err := messages.Encode(m); err == nil {
			t.Errorf("Encode(%#v) succeeded", m)
		}
	}
}
