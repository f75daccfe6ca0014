package messages_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/fxamacker/cbor/v2"
	"reflect"
	"runtime"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestFastDecodeTakesWhatJobsSend: the hand-written decoders take the
// messages of a job's round trip as peers send them, and agree with the
// reflective decoder on each; FuzzDecode holds them to it on any input.
func TestFastDecodeTakesWhatJobsSend(t *testing.T) {
	hot := handCodedNames()
	var found int
	for _, m := range samples() {
		if !hot[m.MessageName()] {
			continue
		}
		found++
		data, err := messages.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := messages.FastDecode(data)
		if !ok {
			t.Errorf("%s: the fast path gave up on the sample", m.MessageName())
			continue
		}
		slow, err := messages.DecodeAny(data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: fast %#v\nreflective %#v", m.MessageName(), fast, slow)
		}
	}
	if found != len(hot) {
		t.Fatalf("%d of the %d message types in the samples", found, len(hot))
	}
}

// TestFastDecodeGivesUp: what the fast path is not sure of goes to the
// reflective decoder, which accepts or refuses it as before.
func TestFastDecodeGivesUp(t *testing.T) {
	n := messages.TagBase + 1 // ClientNewJob
	tag := []byte{0xd9, byte(n >> 8), byte(n)}
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"unknown key", []byte{0xa1, 0x63, 'f', 'o', 'o', 0x01}},
		{"repeated key", []byte{0xa2, 0x66, 'j', 'o', 'b', '_', 'i', 'd', 0x61, 'a', 0x66, 'j', 'o', 'b', '_', 'i', 'd', 0x61, 'b'}},
		{"null value", []byte{0xa1, 0x66, 'j', 'o', 'b', '_', 'i', 'd', 0xf6}},
		{"indefinite map", []byte{0xbf, 0xff}},
		{"invalid UTF-8", []byte{0xa1, 0x66, 'j', 'o', 'b', '_', 'i', 'd', 0x61, 0xff}},
		{"integer priority as float", []byte{0xa1, 0x68, 'p', 'r', 'i', 'o', 'r', 'i', 't', 'y', 0xf9, 0x3c, 0x00}},
		{"tag in input", []byte{0xa1, 0x69, 'i', 'n', 'p', 'u', 't', 'd', 'a', 't', 'a', 0xa1, 0x61, 'x', 0xc1, 0x01}},
		{"NaN limit", append(append([]byte{0xa1, 0x76}, "environment_parameters"...),
			0xa1, 0x66, 'l', 'i', 'm', 'i', 't', 's', 0xa1, 0x64, 't', 'i', 'm', 'e', 0xf9, 0x7e, 0x00)},
		{"trailing bytes", []byte{0xa0, 0x00}},
		{"map longer than its bytes", []byte{0xb9, 0xff, 0xff}},
	} {
		data := append(append([]byte{}, tag...), c.body...)
		if _, ok := messages.FastDecode(data); ok {
			t.Errorf("%s: the fast path took %x", c.name, data)
		}
		// Decode checks free-form values beyond what the reflective
		// decoder refuses, so it may refuse more, never less.
		got, ferr := messages.Decode(data)
		want, serr := messages.DecodeAny(data)
		if (serr != nil && ferr == nil) || (ferr == nil && !reflect.DeepEqual(got, want)) {
			t.Errorf("%s: Decode says %#v, %v; the reflective decoder %#v, %v", c.name, got, ferr, want, serr)
		}
	}
}

// TestFastDecodeEdges: values the encoder never writes (empty maps and
// strings where it omits them, nulls inside free-form values, every float
// width, the integer bounds) decode on the fast path exactly as the
// reflective decoder decodes them.
func TestFastDecodeEdges(t *testing.T) {
	for _, c := range []struct {
		name string
		tag  int
		body map[string]any
	}{
		{"empty free-form maps", 1, map[string]any{"job_id": "j", "inputdata": map[string]any{}, "task_problems": map[string]any{}}},
		{"nested empties and nulls", 1, map[string]any{"inputdata": map[string]any{"a": []any{}, "b": map[string]any{}, "c": nil, "d": []byte{}, "e": ""}}},
		{"integer bounds", 1, map[string]any{"priority": int64(math.MinInt64), "inputdata": map[string]any{"max": int64(math.MaxInt64), "min": int64(math.MinInt64)}}},
		{"float widths", 1, map[string]any{"environment_parameters": map[string]any{"limits": map[string]any{"time": float32(1.5), "hard_time": 1e300}},
			"inputdata": map[string]any{"h": float32(0.5), "s": float32(1.1), "d": 0.1, "z": math.Copysign(0, -1)}}},
		{"seq at its bound", 17, map[string]any{"seq": uint64(math.MaxUint64), "attempt": int64(-1)}},
		{"empty result parts", 15, map[string]any{"job_id": "j", "archive": []byte{}, "problems": map[string]any{}, "tests": map[string]any{}, "stdout": ""}},
		{"problems and usage", 8, map[string]any{"problems": map[string]any{"q1": map[string]any{"status": "failed", "text": ""}},
			"usage": map[string]any{}, "result": map[string]any{}}},
		{"students' usage", 8, map[string]any{"usage": map[string]any{"students": map[string]any{"containers": int64(2), "cpu_time": 0.25}}}},
	} {
		body, err := cbor.Marshal(c.body)
		if err != nil {
			t.Fatal(err)
		}
		n := messages.TagBase + c.tag
		data := append([]byte{0xd9, byte(n >> 8), byte(n)}, body...)
		fast, ok := messages.FastDecode(data)
		if !ok {
			t.Errorf("%s: the fast path gave up on %x", c.name, data)
			continue
		}
		slow, err := messages.DecodeAny(data)
		if err != nil {
			t.Errorf("%s: the reflective decoder refused it: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s:\n      fast %#v\nreflective %#v", c.name, fast, slow)
		}
	}
}

// TestFastDecodeSmallMessages: the small messages' hand-written decoder
// (fastFlat) takes their fields in any order, and gives up on what it is
// not sure of (a wrong type, a repeated or unknown key), where the
// reflective decoder judges; whatever it takes, the reflective decoder
// reads to the same value.
func TestFastDecodeSmallMessages(t *testing.T) {
	repeated := append([]byte{0xa2}, append(cborText("job_id", "a"), cborText("job_id", "b")...)...)
	for _, m := range []messages.Message{&messages.Ack{}, &messages.AgentJobStarted{}, &messages.BackendJobQueued{}, &messages.BackendJobStarted{}} {
		tagged, err := messages.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		head := tagged[:3]
		for _, c := range []struct {
			name string
			body []byte
			take bool // the fast path must take it
		}{
			{"empty", cborOf(t, map[string]any{}), true},
			{"job id alone", cborOf(t, map[string]any{"job_id": "j-1"}), true},
			{"every field, any order", cborOf(t, map[string]any{"session": "s", "attempt": 3, "agent": "a", "job_id": "j"}), false},
			{"attempt as text", cborOf(t, map[string]any{"attempt": "3"}), false},
			{"job id as bytes", cborOf(t, map[string]any{"job_id": []byte("j")}), false},
			{"negative attempt", cborOf(t, map[string]any{"job_id": "j", "attempt": -1}), false},
			{"attempt over 32 bits", cborOf(t, map[string]any{"attempt": int64(1) << 40}), false},
			{"attempt over int64", cborOf(t, map[string]any{"attempt": uint64(math.MaxUint64)}), false},
			{"null job id", cborOf(t, map[string]any{"job_id": nil}), false},
			{"unknown key", cborOf(t, map[string]any{"job_id": "j", "x": 1}), false},
			{"repeated key", repeated, false},
		} {
			data := append(slices.Clone(head), c.body...)
			fast, ok := messages.FastDecode(data)
			if c.take && !ok {
				t.Errorf("%s, %s: the fast path gave up", m.MessageName(), c.name)
			}
			if !ok {
				continue
			}
			slow, err := messages.DecodeAny(data)
			if err != nil || !reflect.DeepEqual(fast, slow) {
				t.Errorf("%s, %s: fast %#v; reflective %#v, %v", m.MessageName(), c.name, fast, slow, err)
			}
		}
	}
}

// cborOf is v in CBOR, as any peer's encoder might write it.
func cborOf(t *testing.T, v map[string]any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cborText is a map entry of a text key and a text value.
func cborText(k, v string) []byte {
	out := append([]byte{0x60 | byte(len(k))}, k...)
	return append(append(out, 0x60|byte(len(v))), v...)
}

// TestFastDecodeVets: what the fast path takes passes the free-form
// check that Decode then skips for it.
func TestFastDecodeVets(t *testing.T) {
	for _, m := range samples() {
		data, err := messages.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if fast, ok := messages.FastDecode(data); ok {
			if err := messages.CheckFreeForm(fast); err != nil {
				t.Errorf("%s: %v", m.MessageName(), err)
			}
		}
	}
}

// TestFastEncode: the hand-written encoders take the messages of a job's
// round trip and write the reflective encoder's bytes; where they give up
// (a free-form value of a type they do not know, NaN), Encode still
// encodes or refuses as the reflective encoder does.
func TestFastEncode(t *testing.T) {
	hot := handCodedNames()
	for _, m := range samples() {
		if !hot[m.MessageName()] {
			continue
		}
		got, ok := messages.FastEncode(m)
		want, err := messages.EncodeReflective(m)
		if !ok || err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: fast %x (took it: %v)\nreflective %x, %v", m.MessageName(), got, ok, want, err)
		}
	}
	type other struct{ A int }
	for _, c := range []struct {
		name string
		m    messages.Message
	}{
		{"a struct in input data", &messages.ClientNewJob{JobDescription: messages.JobDescription{JobID: "j",
			InputData: map[string]any{"x": other{1}}}}},
		{"uint in input data", &messages.BackendNewJob{JobDescription: messages.JobDescription{JobID: "j",
			InputData: map[string]any{"x": uint(7), "y": float32(0.5)}}}},
		{"nil list in tests", &messages.AgentJobDone{JobID: "j", JobResult: messages.JobResult{Tests: map[string]any{"t": []any(nil)}}}},
		{"NaN grade", &messages.BackendJobDone{JobID: "j", JobResult: messages.JobResult{Grade: math.NaN()}}},
	} {
		if _, ok := messages.FastEncode(c.m); ok {
			t.Errorf("%s: the fast path took it", c.name)
		}
		got, gerr := messages.Encode(c.m)
		want, werr := messages.EncodeReflective(c.m)
		if (gerr == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Errorf("%s: Encode %x, %v; reflective %x, %v", c.name, got, gerr, want, werr)
		}
	}
}

// TestFastEncodeEdges: numbers at every width and bound, keys that sort
// by length before bytes, empty and nested values: the same bytes as the
// reflective encoder.
func TestFastEncodeEdges(t *testing.T) {
	floats := []float64{0.5, 1.1, 0.1, 65504, 65520, 1e-7, 5.960464477539063e-08, 6.1e-05, -2.5, 1e300, math.SmallestNonzeroFloat64, math.Copysign(0, -1), 3.4028234663852886e38}
	free := map[string]any{"bb": 1, "a": int64(math.MinInt64), "ab": int64(math.MaxInt64), "é": "", "": nil,
		"l": []any{[]any{}, map[string]any{}, []byte{}, true, false}, "zzz": map[string]any{"k": []byte("v")}}
	for i, f := range floats {
		free[fmt.Sprintf("f%02d", i)] = f
	}
	for _, m := range []messages.Message{
		&messages.ClientNewJob{JobDescription: messages.JobDescription{InputData: free, TaskProblems: map[string]any{"q": free},
			EnvironmentParameters: messages.EnvironmentParameters{Limits: messages.Limits{Time: 1e-7, HardTime: 65520, Memory: -1, Disk: math.MaxInt64}, NetworkGrading: true, RunCmd: "x"},
			Debug:                 messages.DebugSSH}, Priority: math.MinInt, WaitForEnvironment: true, Launcher: "l", Frontend: "f"},
		&messages.BackendNewJob{Seq: math.MaxUint64, Attempt: -3, Session: "s"},
		&messages.AgentJobDone{JobID: "j", Attempt: math.MaxInt, JobResult: messages.JobResult{Grade: -0.0,
			Problems: map[string]messages.Result{"b": {}, "a": {Status: "x"}, "aa": {Text: "t"}}, Tests: free, Custom: free,
			State: "s", Archive: []byte{0}, Stdout: "o", Stderr: "e",
			Usage: &messages.Usage{WallTime: 0.1, Students: &messages.StudentUsage{}}}},
		&messages.BackendJobDone{JobResult: messages.JobResult{Usage: &messages.Usage{}}},
	} {
		for i, f := range floats {
			if j, ok := m.(*messages.AgentJobDone); ok {
				j.Grade = f
				j.Usage.CPUTime = floats[(i+1)%len(floats)]
			}
			got, ok := messages.FastEncode(m)
			want, err := messages.EncodeReflective(m)
			if !ok || err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: fast %x (took it: %v)\nreflective %x, %v", m.MessageName(), got, ok, want, err)
			}
		}
	}
}

// TestFastDecodeAllocatesWhatTheBytesHold: a count is a claim, not a
// size. Nested maps that each claim 131,072 pairs over the same short
// tail would have the hand-written decoder reserve room for all of them
// at every level before finding the lie (found in review); the room it
// takes is bounded by what it reads.
func TestFastDecodeAllocatesWhatTheBytesHold(t *testing.T) {
	n := messages.TagBase + 1 // ClientNewJob
	data := []byte{0xd9, byte(n >> 8), byte(n), 0xa1, 0x69}
	data = append(data, "inputdata"...)
	data = append(data, 0xba, 0x00, 0x02, 0x00, 0x00)
	for range 15 {
		data = append(data, 0x60, 0xba, 0x00, 0x02, 0x00, 0x00)
	}
	data = append(data, make([]byte, 1<<17)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, ok := messages.FastDecode(data); ok {
		t.Fatal("the fast path took a lie")
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("giving up on %d bytes allocated %d bytes", len(data), got)
	}
	if _, err := messages.Decode(data); err == nil {
		t.Error("Decode took it")
	}
}

// TestFastDecodeRepeatedKeys: a key given twice anywhere (a record's own
// fields, its result's, a usage, a free-form map) is the reflective
// decoder's to refuse.
func TestFastDecodeRepeatedKeys(t *testing.T) {
	for _, c := range []struct {
		name string
		tag  int
		body []byte
	}{
		{"result field twice in a record", 24, cborMap(t, "jobs", []any{rawPairs(t, "grade", 1.5, "grade", 2.5)})},
		{"record field twice", 24, cborMap(t, "jobs", []any{rawPairs(t, "user", "a", "user", "b")})},
		{"usage twice", 15, rawPairs(t, "usage", map[string]any{}, "usage", map[string]any{})},
		{"students twice", 15, rawPairs(t, "usage", rawPairs(t, "students", map[string]any{}, "students", map[string]any{}))},
		{"free-form key twice", 1, rawPairs(t, "inputdata", rawPairs(t, "q", "a", "q", "b"))},
		{"problem twice", 8, rawPairs(t, "problems", rawPairs(t, "q", map[string]any{}, "q", map[string]any{}))},
	} {
		n := messages.TagBase + c.tag
		data := append([]byte{0xd9, byte(n >> 8), byte(n)}, c.body...)
		if _, ok := messages.FastDecode(data); ok {
			t.Errorf("%s: the fast path took %x", c.name, data)
		}
		if _, err := messages.Decode(data); err == nil {
			t.Errorf("%s: Decode took %x", c.name, data)
		}
	}
}

// rawPairs is a CBOR map of the key-value pairs kv in that order, repeats
// kept (no Go map can hold them).
func rawPairs(t *testing.T, kv ...any) cbor.RawMessage {
	out := []byte{0xa0 | byte(len(kv)/2)}
	for _, v := range kv {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

func cborMap(t *testing.T, k string, v any) []byte { return cborOf(t, map[string]any{k: v}) }

// TestFastCodecsKnowEveryField: a value of each type with hand-written
// codecs, every field set (through reflect, so a field added later is
// set too), is written by hand as the reflective encoder writes it and
// read back by hand to the same value. A field the hand-written encoder
// does not know would otherwise be dropped without a word.
func TestFastCodecsKnowEveryField(t *testing.T) {
	for _, m := range handCoded() {
		testutil.Fill(reflect.ValueOf(m).Elem())
		got, ok := messages.FastEncode(m)
		want, err := messages.EncodeReflective(m)
		if !ok || err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: hand %x (took it: %v)\nreflective %x, %v", m.MessageName(), got, ok, want, err)
			continue
		}
		back, ok := messages.FastDecode(want)
		if !ok || !reflect.DeepEqual(back, m) {
			t.Errorf("%s: read back by hand (took it: %v)\n%#v\nwant %#v", m.MessageName(), ok, back, m)
		}
	}
}

// handCoded returns a zero value of each message type with hand-written
// codecs: the one list the tests of the fast path go by.
func handCoded() []messages.Message {
	return []messages.Message{&messages.ClientNewJob{}, &messages.BackendNewJob{},
		&messages.AgentJobDone{}, &messages.BackendJobDone{}, &messages.BackendHistory{},
		&messages.Ack{}, &messages.AgentJobStarted{}, &messages.BackendJobQueued{}, &messages.BackendJobStarted{}}
}

// handCodedNames is handCoded by message name.
func handCodedNames() map[string]bool {
	names := map[string]bool{}
	for _, m := range handCoded() {
		names[m.MessageName()] = true
	}
	return names
}
