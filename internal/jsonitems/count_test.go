package jsonitems

import (
	"encoding/json"
	"strings"
	"testing"
)

// values counts what encoding/json decodes, the reference.
func values(v any) int {
	n := 1
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			n += values(e)
		}
	case map[string]any:
		for _, e := range v {
			n += values(e)
		}
	}
	return n
}

func TestCount(t *testing.T) {
	for _, doc := range []string{
		`1`, `"a"`, `null`, `true`, `[]`, `{}`, `[1, 2.5e3, -3, "x", null, false]`,
		`{"a": 1, "b": [1, {"c": "d"}], "e": {}}`,
		`{"k,[{": "v]}\"", "\\": ["\"", "\\\\"]}`,
		"[ {\n\t\"a\" : [ [ ] , { } ] } , 7 ]",
		`{"":{"":{"":[]}}}`,
		`["é", "\u00e9", {"ü": -0.5E-3}]`,
	} {
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if got, want := Count([]byte(doc), 1000), values(v); got != want {
			t.Errorf("Count(%s) = %d, encoding/json decodes %d values", doc, got, want)
		}
		for i := range len(doc) {
			if got, want := inTwo([]byte(doc), i, 1000), values(v); got != want {
				t.Errorf("Counter(%q, then %q) = %d, encoding/json decodes %d values", doc[:i], doc[i:], got, want)
			}
		}
	}
}

// inTwo counts data written to a Counter in two pieces, cut at i.
func inTwo(data []byte, i, max int) int {
	c := Counter{Max: max}
	c.Write(data[:i])
	c.Write(data[i:])
	return c.N()
}

func TestCountStopsPastMax(t *testing.T) {
	doc := "[" + strings.Repeat("{},", 1<<20) + "{}]"
	if got := Count([]byte(doc), 100); got != 101 {
		t.Errorf("Count = %d, want 101", got)
	}
	if got := Count([]byte(doc), 1<<21); got != 1<<20+2 {
		t.Errorf("Count = %d, want %d", got, 1<<20+2)
	}
}

// FuzzCount: on every valid JSON document, Count is at least what
// encoding/json decodes (more only where an object repeats a key, whose
// last value encoding/json keeps).
func FuzzCount(f *testing.F) {
	for _, s := range []string{`{"a":[1,"b",{"c":null}]}`, `[]`, `"x\"y"`, `[{"k":"v"},[[]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			Count(data, 1<<20) // must not panic
			return
		}
		if got, want := Count(data, 1<<30), values(v); got < want {
			t.Errorf("Count(%q) = %d, encoding/json decodes %d values", data, got, want)
		}
		// In pieces as whole.
		for i := range len(data) {
			if got, want := inTwo(data, i, 1<<30), Count(data, 1<<30); got != want {
				t.Fatalf("Counter(%q, then %q) = %d, Count %d", data[:i], data[i:], got, want)
			}
		}
	})
}

// TestCounterClosed: Closed says when a top-level object or array has
// ended, not before, whatever its strings hold.
func TestCounterClosed(t *testing.T) {
	doc := `{"a": ["}", {"b": "]"}], "c": {}}`
	for i := range len(doc) {
		c := Counter{Max: 100}
		c.Write([]byte(doc[:i]))
		if c.Closed() {
			t.Errorf("closed after %q", doc[:i])
		}
	}
	c := Counter{Max: 100}
	c.Write([]byte(doc))
	if !c.Closed() {
		t.Error("not closed after the whole document")
	}
}
