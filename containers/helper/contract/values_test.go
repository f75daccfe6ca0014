package contract

import (
	"encoding/json"
	"reflect"
	"testing"
)

// A Python grader's 7 reaches INGInious' webapp as an int and its 3.0 as a
// float; the values of result.json keep that apart, at any depth.
func TestDecodeValuesKeepsIntegers(t *testing.T) {
	in := map[string]json.RawMessage{
		"i":         json.RawMessage(`7`),
		"neg":       json.RawMessage(`-2`),
		"f":         json.RawMessage(`3.0`),
		"e":         json.RawMessage(`1e3`),
		"huge":      json.RawMessage(`123456789012345678901234567890`),
		"highlight": json.RawMessage(`{"student_code": [{"color": "darkred", "lines": [1, 2.5]}]}`),
		"s":         json.RawMessage(`"7"`),
		"b":         json.RawMessage(`true`),
	}
	got, err := DecodeValues(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"i": int64(7), "neg": int64(-2), "f": 3.0, "e": 1000.0, "huge": 1.2345678901234568e+29,
		"highlight": map[string]any{"student_code": []any{map[string]any{"color": "darkred", "lines": []any{int64(1), 2.5}}}},
		"s":         "7", "b": true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeValues = %#v\nwant %#v", got, want)
	}
	if m, err := DecodeValues(nil); m != nil || err != nil {
		t.Errorf("DecodeValues(nil) = %v, %v", m, err)
	}
	for _, bad := range []string{`{nope`, `1 2`, ``} {
		if _, err := DecodeValues(map[string]json.RawMessage{"k": json.RawMessage(bad)}); err == nil {
			t.Errorf("DecodeValues(%q): no error", bad)
		}
	}
}
