package contract

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestFreeValues counts tests and custom values together, their keys
// aside, as messages counts them on the wire.
func TestFreeValues(t *testing.T) {
	for _, c := range []struct {
		doc  string
		max  int
		want int
	}{
		{`{"result": "success"}`, 10, 0},
		{`{"tests": null, "custom": {}}`, 10, 0},
		{`{"tests": {"a": 1, "b": [1, 2]}, "custom": {"c": {"d": "e"}}}`, 10, 6},
		{`{"tests": {"a": 1, "b": [1, 2]}, "custom": {"c": {"d": "e"}}}`, 6, 6},
		{`{"tests": {"a": 1, "b": [1, 2]}, "custom": {"c": {"d": "e"}}}`, 5, 6},
		{`{"tests": {"a": 1, "b": [1, 2]}, "custom": {"c": {"d": "e"}}}`, 3, 4},
		{`{"problems": {"p": {"status": "failed", "text": "[1, 2, 3]"}}, "tests": {"a": "{}"}}`, 10, 1},
	} {
		got, err := FreeValues([]byte(c.doc), c.max)
		if err != nil || got != c.want {
			t.Errorf("FreeValues(%s, %d) = %d, %v; want %d", c.doc, c.max, got, err, c.want)
		}
	}
	if _, err := FreeValues([]byte(`{"tests": {`), 10); err == nil {
		t.Error("FreeValues of a cut document: no error")
	}
}

// TestFreeValuesAllocatesLittle: an 8 MiB result.json of one-number tests
// is counted for about its own size; decoding Result first took 122 MiB.
func TestFreeValuesAllocatesLittle(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"result": "success", "tests": {`)
	for i := 0; b.Len() < 8<<20; i++ {
		fmt.Fprintf(&b, `"%x":0,`, i)
	}
	b.WriteString(`"last":0}}`)
	data := []byte(b.String())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, err := FreeValues(data, 1000)
	runtime.ReadMemStats(&after)
	if err != nil || n != 1001 {
		t.Errorf("FreeValues = %d, %v; want 1001", n, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*uint64(len(data)) {
		t.Errorf("counting %d MiB allocated %d MiB", len(data)>>20, alloc>>20)
	}
}
