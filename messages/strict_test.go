package messages_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/ingo-grader/ingo/messages"
)

// Tag numbers as they go on the wire, for hand-built inputs.
const (
	tagClientHello    = messages.TagBase + 0
	tagClientNewJob   = messages.TagBase + 1
	tagBackendJobDone = messages.TagBase + 8
	tagAgentHello     = messages.TagBase + 13
	tagBackendNewJob  = messages.TagBase + 17
)

// raw encodes v with fxamacker's permissive defaults, so that a test can
// build what ingo's own encoder refuses to write (NaN, unknown fields, ...).
func raw(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatalf("building input: %v", err)
	}
	return b
}

func tagged(t *testing.T, number uint64, content any) []byte {
	t.Helper()
	return raw(t, cbor.Tag{Number: number, Content: content})
}

// newJob is a valid ClientNewJob body; cases change one thing in it.
func newJob(input any) map[string]any {
	return map[string]any{
		"job_id":                 "j1",
		"environment_type":       "docker",
		"environment":            "default",
		"environment_parameters": map[string]any{"limits": map[string]any{}},
		"inputdata":              map[string]any{"q1": input},
	}
}

func jobDone(grade any) map[string]any {
	return map[string]any{
		"job_id": "j1",
		"result": map[string]any{"status": "success", "text": ""},
		"grade":  grade,
	}
}

func nested(depth int) any {
	var v any = "leaf"
	for range depth {
		v = []any{v}
	}
	return v
}

func manyPairs(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m[fmt.Sprint(i)] = 0
	}
	return m
}

// head is the CBOR head of tag n (a 2-byte argument: n is above 255).
func head(n uint16) []byte { return []byte{0xd9, byte(n >> 8), byte(n)} }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// text is a CBOR text string head plus its bytes (short strings only).
func text(s string) []byte { return append([]byte{0x60 + byte(len(s))}, s...) }

// TestDecodeValidBaseline makes sure the bodies the strict cases start from
// are valid, so that each case fails for the one reason it names.
func TestDecodeValidBaseline(t *testing.T) {
	for name, data := range map[string][]byte{
		"ClientHello":    tagged(t, tagClientHello, map[string]any{"name": "x", "protocol_version": 1}),
		"ClientNewJob":   tagged(t, tagClientNewJob, newJob(nested(messages.MaxNesting-6))),
		"BackendJobDone": tagged(t, tagBackendJobDone, jobDone(12.5)),
		"items at bound": tagged(t, tagClientNewJob, newJob(make([]any, messages.MaxItems))),
		"hand-built":     cat(head(tagClientHello), []byte{0xa2}, text("name"), text("a"), text("protocol_version"), []byte{0x01}),
	} {
		if _, err := messages.Decode(data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	golden, err := os.ReadFile("testdata/ClientNewJob.cbor")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		// why is a piece of the error text: each case must fail for the
		// reason it names, not for an accident of how it was built.
		why  string
		data []byte
	}{
		{"empty", "EOF", nil},
		// CBOR null and undefined decode into a nil Message without error
		// unless Decode checks for it (fuzz finding).
		{"CBOR null", "", []byte{0xf6}},
		{"CBOR undefined", "", []byte{0xf7}},
		{"unknown field", "unknown field", tagged(t, tagClientHello, map[string]any{"name": "x", "protocol_version": 1, "colour": "red"})},
		{"unknown nested field", "unknown field", tagged(t, tagClientNewJob, func() map[string]any {
			j := newJob("x")
			j["environment_parameters"] = map[string]any{"limits": map[string]any{"gpu": 1}}
			return j
		}())},
		{"field name in another case", "unknown field", tagged(t, tagClientHello, map[string]any{"Name": "x", "protocol_version": 1})},
		{"duplicate key", "duplicate map key", cat(head(tagClientHello), []byte{0xa3},
			text("name"), text("a"), text("protocol_version"), []byte{0x01}, text("name"), text("b"))},
		{"duplicate key in input data", "duplicate map key", cat(head(tagClientNewJob), []byte{0xa4},
			text("job_id"), text("j"), text("environment_type"), text("docker"), text("environment"), text("d"),
			text("inputdata"), []byte{0xa2}, text("q"), text("a"), text("q"), text("b"))},
		{"invalid UTF-8 in a field", "invalid UTF-8", cat(head(tagClientHello), []byte{0xa2},
			text("name"), []byte{0x62, 0xc3, 0x28}, text("protocol_version"), []byte{0x01})},
		{"invalid UTF-8 in a free-form key", "invalid UTF-8", cat(head(tagClientNewJob), []byte{0xa1},
			text("inputdata"), []byte{0xa1, 0x61, 0xff}, text("x"))},
		{"untagged map", "cannot unmarshal map", raw(t, map[string]any{"name": "x", "protocol_version": 1})},
		{"untagged array", "cannot unmarshal array", raw(t, []any{"x", 1})},
		{"unknown tag number above", "unknown message type", tagged(t, messages.TagBase+1000, map[string]any{"name": "x"})},
		{"unknown tag number below", "unknown message type", tagged(t, messages.TagBase-1, map[string]any{"name": "x"})},
		{"standard tag", "unknown message type", tagged(t, 1, 1700000000)},
		// A tag number that does not fit an int once made Decode index
		// the registry with a negative number (fuzz finding).
		{"tag number over 2^63", "unknown message type", tagged(t, 1<<63+42, -17)},
		{"largest tag number", "unknown message type", tagged(t, math.MaxUint64, map[string]any{})},
		{"tag on the wrong content", "cannot unmarshal array", tagged(t, tagClientHello, []any{"x", 1})},
		{"field of the wrong type", "ClientHello.name", tagged(t, tagClientHello, map[string]any{"name": 42, "protocol_version": 1})},
		{"non-string key in free-form map", "inputdata", tagged(t, tagClientNewJob, newJob(map[int]any{1: "x"}))},
		{"nesting deeper than the bound", "max nested level", tagged(t, tagClientNewJob, newJob(nested(messages.MaxNesting+1)))},
		{"array with too many items", "max number of elements", tagged(t, tagClientNewJob, newJob(make([]any, messages.MaxItems+1)))},
		{"map with too many pairs", "max number of key-value pairs", tagged(t, tagClientNewJob, newJob(manyPairs(messages.MaxItems+1)))},
		{"over-size", "over the limit", make([]byte, messages.MaxMessageSize+1)},
		{"truncated", "unexpected EOF", golden[:len(golden)/2]},
		{"trailing bytes", "extraneous data", cat(golden, []byte{0x00})},
		{"two messages", "extraneous data", cat(golden, golden)},
		{"indefinite-length map", "indefinite-length", cat(head(tagClientHello), []byte{0xbf}, text("name"), text("a"), []byte{0xff})},
		{"indefinite-length string", "indefinite-length", cat(head(tagClientHello), []byte{0xa1}, text("name"), []byte{0x7f}, text("a"), []byte{0xff})},
		{"NaN grade", "NaN", tagged(t, tagBackendJobDone, jobDone(math.NaN()))},
		{"infinite grade", "infinity", tagged(t, tagBackendJobDone, jobDone(math.Inf(1)))},
		{"NaN in free-form data", "NaN", tagged(t, tagClientNewJob, newJob(math.NaN()))},
		{"NaN limit", "NaN", tagged(t, tagClientNewJob, func() map[string]any {
			j := newJob("x")
			j["environment_parameters"] = map[string]any{"limits": map[string]any{"time": math.NaN()}}
			return j
		}())},
		{"int overflow", "overflows", tagged(t, tagBackendNewJob, map[string]any{"job_id": "j", "attempt": uint64(math.MaxUint64)})},
		{"int overflow by one", "overflows", tagged(t, tagBackendNewJob, map[string]any{"job_id": "j", "attempt": uint64(math.MaxInt64) + 1})},
		{"negative into unsigned", "negative integer", tagged(t, tagAgentHello, map[string]any{"last_job_seq": -1})},
		{"integer over int64 in free-form data", "overflows", tagged(t, tagClientNewJob, newJob(uint64(math.MaxUint64)))},
		{"float into int", "cannot unmarshal", tagged(t, tagBackendNewJob, map[string]any{"job_id": "j", "attempt": 1.5})},
		{"bignum into int", "overflows", tagged(t, tagBackendNewJob, map[string]any{"job_id": "j", "attempt": cbor.Tag{Number: 2, Content: []byte{1, 0, 0, 0, 0, 0, 0, 0, 0}}})},
		{"reserved simple value", "simple value", []byte{0xf8, 0x00}},
		{"break outside indefinite item", "break", []byte{0xff}},
		{"length beyond input", "EOF", cat(head(tagClientHello), []byte{0xa1}, text("name"), []byte{0x7a, 0xff, 0xff, 0xff, 0xff})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := decode(t, c.data)
			if err == nil {
				t.Fatalf("decoded %#v", m)
			}
			if !errors.Is(err, messages.ErrMalformed) {
				t.Fatalf("error %q does not wrap ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), c.why) {
				t.Errorf("error %q does not say %q", err, c.why)
			}
			if m != nil {
				t.Errorf("returned %#v along with the error", m)
			}
		})
	}
}

// TestDecodeEveryPrefix cuts every golden file at every length: a message
// cut short by a broken peer must be refused, never half-read.
func TestDecodeEveryPrefix(t *testing.T) {
	for _, m := range samples() {
		data, err := os.ReadFile(goldenPath(m))
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(data) {
			if _, err := decode(t, data[:n]); !errors.Is(err, messages.ErrMalformed) {
				t.Fatalf("%s cut to %d of %d bytes: err = %v", m.MessageName(), n, len(data), err)
			}
		}
	}
}

// decode is messages.Decode with a panic turned into a test failure, so
// that one panicking case shows as such and the others still run.
func decode(t *testing.T, data []byte) (m messages.Message, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Decode(%x) panicked: %v", data[:min(len(data), 64)], r)
		}
	}()
	return messages.Decode(data)
}

// TestDecodeFreeFormValues: input data, task problems, tests and custom
// feedback hold JSON-like values only. Anything else that CBOR can express
// (a date, a bignum, an unknown tag, a simple value, a whole message) either
// changes when the backend relays it (a date or a bignum comes back as an
// integer, a date in the host's time zone), or reaches a frontend as a Go
// type that has no JSON form.
func TestDecodeFreeFormValues(t *testing.T) {
	cases := []struct {
		name  string
		value any
	}{
		{"RFC 3339 date (tag 0)", cbor.Tag{Number: 0, Content: "2026-01-01T00:00:00Z"}},
		{"epoch date (tag 1)", cbor.Tag{Number: 1, Content: 1767225600}},
		{"bignum (tag 2)", cbor.Tag{Number: 2, Content: []byte{1}}},
		{"negative bignum (tag 3)", cbor.Tag{Number: 3, Content: []byte{1}}},
		{"unknown tag", cbor.Tag{Number: 12345, Content: "x"}},
		{"message inside a message", cbor.Tag{Number: tagClientHello, Content: map[string]any{"name": "x"}}},
		{"simple value", cbor.SimpleValue(100)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for field, data := range map[string][]byte{
				"inputdata": tagged(t, tagClientNewJob, newJob(c.value)),
				"custom":    tagged(t, tagBackendJobDone, withField(jobDone(1.0), "custom", map[string]any{"k": []any{c.value}})),
			} {
				m, err := decode(t, data)
				if !errors.Is(err, messages.ErrMalformed) {
					t.Errorf("%s: decoded %#v, err = %v", field, m, err)
				}
			}
		})
	}
}

func withField(m map[string]any, k string, v any) map[string]any {
	m[k] = v
	return m
}
