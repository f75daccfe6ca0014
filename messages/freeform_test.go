package messages_test

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// marker is a text value the free-form cases put where their hand-built
// CBOR goes (splice).
const marker = "\x01free-form-here"

// splice replaces the encoded marker in data with value's bytes.
func splice(t *testing.T, data, value []byte) []byte {
	t.Helper()
	m := text(marker)
	if bytes.Count(data, m) != 1 {
		t.Fatal("the marker is not in the message once")
	}
	return bytes.Replace(data, m, value, 1)
}

// selfDescribed is the head of tag 55799, "self-described CBOR".
var selfDescribed = []byte{0xd9, 0xd9, 0xf7}

// arrayHead is the CBOR head of an array of n items (n < 2^32).
func arrayHead(n int) []byte {
	return []byte{0x9a, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

// rowsOf is an array of rows arrays of per copies of item.
func rowsOf(rows, per int, item byte) []byte {
	row := append(arrayHead(per), bytes.Repeat([]byte{item}, per)...)
	return append(arrayHead(rows), bytes.Repeat(row, rows)...)
}

// nullsHolding is CBOR for a value holding n values in all, itself
// included: lists of nulls, none longer than MaxItems.
func nullsHolding(n int) []byte {
	if n-1 <= messages.MaxItems {
		return append(arrayHead(n-1), bytes.Repeat([]byte{0xf6}, n-1)...)
	}
	full := append(arrayHead(messages.MaxItems), bytes.Repeat([]byte{0xf6}, messages.MaxItems)...)
	return cat(arrayHead(2), full, nullsHolding(n-1-(messages.MaxItems+1)))
}

// valuesHolding is nullsHolding as Go values.
func valuesHolding(n int) any {
	if n-1 <= messages.MaxItems {
		return make([]any, n-1)
	}
	return []any{make([]any, messages.MaxItems), valuesHolding(n - 1 - (messages.MaxItems + 1))}
}

// reflective moves a message's tag to a four-byte head: the same message,
// which the hand-written decoders leave to the reflective one.
func reflective(data []byte) []byte {
	return cat([]byte{0xda, 0, 0, data[1], data[2]}, data[3:])
}

// TestDecodeBoundsFreeFormItems: one byte of CBOR makes an empty map,
// which costs a decoder about a hundred bytes, so a job's input data (or a
// result's custom values) of a few MiB of them took a process gigabytes
// while it decoded. All of one message's free-form values together hold at
// most MaxFreeFormItems values, on both decoding paths, and a message over
// it is refused before its values are built.
func TestDecodeBoundsFreeFormItems(t *testing.T) {
	const max = messages.MaxFreeFormItems
	job := tagged(t, tagClientNewJob, newJob(marker))
	done := tagged(t, tagBackendJobDone, withField(jobDone(1), "custom", map[string]any{"k": marker}))
	cases := []struct {
		name   string
		data   []byte
		refuse bool
	}{
		{"input data at the bound", splice(t, job, nullsHolding(max)), false},
		{"input data one over", splice(t, job, nullsHolding(max+1)), true},
		{"task problems and input data add up", splice(t, tagged(t, tagClientNewJob,
			withField(newJob(marker), "task_problems", map[string]any{"p": valuesHolding(max / 2)})), nullsHolding(max/2+1)), true},
		{"custom values at the bound", splice(t, done, nullsHolding(max)), false},
		{"custom values one over", splice(t, done, nullsHolding(max+1)), true},
		{"input data of empty maps", splice(t, job, rowsOf(16, messages.MaxItems, 0xa0)), true},
		// A self-described CBOR tag (55799) is dropped by the reflective
		// decoder, and the hand-written one leaves it to it: it is not a
		// value of its own.
		{"a tag around input data at the bound", splice(t, job, cat(selfDescribed, nullsHolding(max))), false},
		{"a tag around input data one over", splice(t, job, cat(selfDescribed, nullsHolding(max+1))), true},
		{"a tag inside input data at the bound", splice(t, job, cat(arrayHead(2), selfDescribed, []byte{0xf6}, nullsHolding(max-2))), false},
		{"a tag inside input data one over", splice(t, job, cat(arrayHead(2), selfDescribed, []byte{0xf6}, nullsHolding(max-1))), true},
	}
	for _, c := range cases {
		for path, data := range map[string][]byte{"hand-written": c.data, "reflective": reflective(c.data)} {
			// FuzzDecode's first check, which no fuzzed input reaches.
			fast, ferr := messages.DecodeTagged(data)
			slow, serr := messages.DecodeAnyCounted(data)
			if (ferr != nil || fast == nil) != (serr != nil || slow == nil) {
				t.Errorf("%s (%s): the typed decode says %v; the decoder's own %v", c.name, path, ferr, serr)
			}
			_, err := messages.Decode(data)
			switch {
			case c.refuse && (err == nil || !errors.Is(err, messages.ErrMalformed) || !strings.Contains(err.Error(), "inputs and task problems")):
				// Named as the docs name them (api.md, task-authors.md):
				// "free-form items" alone meant nothing to a teacher.
				t.Errorf("%s (%s): err = %v, want a refusal naming inputs and task problems", c.name, path, err)
			case !c.refuse && err != nil:
				t.Errorf("%s (%s): %v", c.name, path, err)
			}
		}
	}
}

// TestDecodeOfFreeFormFloodAllocatesLittle: the refusal comes once the
// bound's worth of values is built at most (the hand-written decoder's
// count), before the rest. 6 MiB of empty maps in a job's input data took
// 800 MB to decode.
func TestDecodeOfFreeFormFloodAllocatesLittle(t *testing.T) {
	job := splice(t, tagged(t, tagClientNewJob, newJob(marker)), rowsOf(48, messages.MaxItems, 0xa0))
	for path, data := range map[string][]byte{"hand-written": job, "reflective": reflective(job)} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := messages.Decode(data)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: %d bytes of empty maps accepted", path, len(data))
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("%s: decoding %d bytes allocated %d MiB", path, len(data), alloc>>20)
		}
	}
}

// TestHistoryPageNotBounded: a page of the history holds many results,
// more free-form values than one job may; and a result recorded before
// the bound may hold more than it. The backend wrote them all: a page
// decodes on both paths, the hand-written one giving up on a result over
// the bound.
func TestHistoryPageNotBounded(t *testing.T) {
	record := func(id string, n int) messages.JobRecord {
		return messages.JobRecord{JobID: id, JobResult: messages.JobResult{
			Result: messages.Result{Status: messages.StatusSuccess},
			Custom: map[string]any{"k": valuesHolding(n)}}}
	}
	half := messages.MaxFreeFormItems / 2
	for name, jobs := range map[string][]messages.JobRecord{
		"results under the bound":              {record("a", half), record("b", half), record("c", half)},
		"a result from before the bound":       {record("a", messages.MaxFreeFormItems+1)},
		"a result over the bound after others": {record("a", half), record("b", messages.MaxFreeFormItems+1)},
	} {
		data, err := messages.Encode(&messages.BackendHistory{Jobs: jobs})
		if err != nil {
			t.Fatal(err)
		}
		for path, data := range map[string][]byte{"hand-written": data, "reflective": reflective(data)} {
			if _, err := messages.Decode(data); err != nil {
				t.Errorf("%s (%s): %v", name, path, err)
			}
		}
	}
}

// TestCheckEncodedBoundsFreeFormItems: an agent checks its result with
// CheckEncoded before it sends it; what passes must be what the backend
// takes.
func TestCheckEncodedBoundsFreeFormItems(t *testing.T) {
	for _, c := range []struct {
		name  string
		tests map[string]any
		ok    bool
	}{
		{"at the bound", map[string]any{"k": valuesHolding(messages.MaxFreeFormItems)}, true},
		{"one over", map[string]any{"k": valuesHolding(messages.MaxFreeFormItems + 1)}, false},
		{"nested maps", map[string]any{"k": []any{map[string]any{"a": valuesHolding(messages.MaxFreeFormItems - 1)}}}, false},
	} {
		m := &messages.AgentJobDone{JobID: "j", Attempt: 1, JobResult: messages.JobResult{
			Result: messages.Result{Status: messages.StatusSuccess}, Tests: c.tests}}
		data, err := messages.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		err = m.JobResult.CheckEncoded(data)
		if _, derr := messages.Decode(data); (derr == nil) != c.ok {
			t.Errorf("%s: Decode: %v", c.name, derr)
		}
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.ok && !errors.Is(err, messages.ErrTooManyItems):
			t.Errorf("%s: CheckEncoded = %v, want ErrTooManyItems", c.name, err)
		}
	}
}

// TestDecodeOfKeyFloodAllocatesLittle: the reflective decoder builds what
// it cannot match a field by (a map key that is not text: a list of empty
// maps as a key is built in full), and reads on past a key that is not
// valid UTF-8; the count before it must not stop there, nor leave keys
// out. 2 MiB of empty maps took about 300 MB each way.
func TestDecodeOfKeyFloodAllocatesLittle(t *testing.T) {
	flood := rowsOf(16, messages.MaxItems, 0xa0)
	job := tagged(t, tagClientNewJob, newJob(marker))
	if job[3] != 0xa5 {
		t.Fatalf("ClientNewJob's map head is %#x, want 0xa5", job[3])
	}
	// withPair adds a pair before the job's own fields.
	withPair := func(job, k, v []byte) []byte { return cat(job[:3], []byte{0xa6}, k, v, job[4:]) }
	plain := splice(t, job, []byte{0})
	history, err := messages.Encode(&messages.BackendHistory{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"a key not UTF-8, then input data of empty maps", withPair(splice(t, job, flood), []byte{0x61, 0xff}, []byte{0})},
		{"a list key of empty maps", withPair(plain, flood, []byte{0})},
		{"a list key in a tag", withPair(plain, cat([]byte{0xd9, 0x01, 0x00}, flood), []byte{0})},
		{"a list key in the environment's parameters", withPair(plain, text("environment_parameters"),
			cat([]byte{0xa1}, flood, []byte{0}))},
		{"a list key in a history record", cat(history[:3], []byte{0xa1}, text("jobs"), []byte{0x81, 0xa1}, flood, []byte{0})},
	} {
		for path, data := range map[string][]byte{"hand-written": c.data, "reflective": reflective(c.data)} {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := messages.Decode(data)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, messages.ErrMalformed) {
				t.Errorf("%s (%s): err = %v", c.name, path, err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("%s (%s): decoding %d KiB allocated %d MiB", c.name, path, len(data)>>10, alloc>>20)
			}
		}
	}
}
