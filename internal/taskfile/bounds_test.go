package taskfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
