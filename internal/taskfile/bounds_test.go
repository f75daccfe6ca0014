package taskfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A task.yaml over its bounds is refused before the YAML decoder, whose
// cost grows with the square of a mapping's keys, sees it.
func TestTaskYAMLBounds(t *testing.T) {
	keys := func(indent string, n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "%sq%d: {type: code}\n", indent, i)
		}
		return b.String()
	}
	tests := []struct {
		name    string
		doc     string
		refused bool
	}{
		{name: "problems at the bound", doc: "environment: default\nproblems:\n" + keys("  ", MaxMappingKeys)},
		{name: "problems over it", doc: "environment: default\nproblems:\n" + keys("  ", MaxMappingKeys+1), refused: true},
		{name: "a mapping deep inside", doc: "problems:\n  q:\n    choices:\n      - " + strings.TrimSpace(strings.ReplaceAll(keys("", MaxMappingKeys+1), "\n", "\n        ")), refused: true},
		{name: "at the size bound", doc: "name: x\ncontext: |\n  " + strings.Repeat("a", MaxBytes-len("name: x\ncontext: |\n  \n")) + "\n"},
		{name: "over it", doc: "name: x\ncontext: |\n  " + strings.Repeat("a", MaxBytes) + "\n", refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "task.yaml"), []byte(tt.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadDir(dir)
			if tt.refused != errors.Is(err, ErrTooLarge) {
				t.Errorf("ReadDir: %v, want refused %v", err, tt.refused)
			}
			_, err = Parse([]byte(tt.doc))
			if tt.refused != errors.Is(err, ErrTooLarge) {
				t.Errorf("Parse: %v, want refused %v", err, tt.refused)
			}
			r, err := Check(dir, CheckOptions{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range r.Findings {
				found = found || f.Severity == SevError && strings.Contains(f.Message, ErrTooLarge.Error())
			}
			if found != tt.refused {
				t.Errorf("Check: %v, want a finding %v", r.Findings, tt.refused)
			}
		})
	}
}

// TestTaskYAMLNodeBounds: the YAML parser builds every node for a few
// hundred bytes, so a task.yaml within MaxBytes of tiny values (1 MB of
// "0,", 1.2 KB as a .tar.gz uploaded to the HTTP API) took 140 MB to
// parse, and a dozen such uploads at once took the API 1.5 GB. Nodes are
// bounded before the parser runs (MaxIndicators), and so are aliases
// expanded, before anything decodes them.
func TestTaskYAMLNodeBounds(t *testing.T) {
	list := func(item string, n int) string {
		return "problems:\n  p: [" + strings.Repeat(item+",", n-1) + item + "]\n"
	}
	aliases := func(k, m int) string {
		return "problems:\n  a: &a [" + strings.Repeat("0,", k) + "0]\n  b: [" + strings.Repeat("*a,", m) + "*a]\n"
	}
	tests := []struct {
		name    string
		doc     string
		refused bool
	}{
		{name: "a long list within the bound", doc: list("0", MaxIndicators-100)},
		{name: "1 MB of tiny values", doc: list("0", MaxBytes/2-100), refused: true},
		{name: "empty maps", doc: list("{}", MaxIndicators), refused: true},
		{name: "a prose statement of 1 MB", doc: "context: |\n  " + strings.Repeat("Write a function that returns the sum of its arguments. ", MaxBytes/60) + "\n"},
		{name: "aliases within the bound", doc: aliases(100, 100)},
		{name: "aliases expanding past it", doc: aliases(1000, 1000), refused: true},
		{name: "an anchor holding its alias", doc: "problems:\n  a: &a [*a]\n", refused: true},
	}
	for _, tt := range tests {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Parse([]byte(tt.doc))
		runtime.ReadMemStats(&after)
		switch {
		case tt.refused && !errors.Is(err, ErrTooLarge) && !strings.Contains(fmt.Sprint(err), "contains itself"):
			t.Errorf("%s: %v, want refused", tt.name, err)
		case !tt.refused && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 48<<20 {
			t.Errorf("%s: parsing %d KiB allocated %d MiB", tt.name, len(tt.doc)>>10, alloc>>20)
		}
	}
}
