package helper

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// encodedLen is the reference: what encoding/json writes, quotes excluded.
func encodedLen(t *testing.T, s string) int {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return b.Len() - 3 // quotes and newline
}

func FuzzJSONLen(f *testing.F) {
	for _, s := range []string{"", "abc", "\x00\x1f\"\\\n\t\b\f", "é\u2028\u2029", "\xff\xfe", "<&>", "\x7f", "a\xc3"} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if got, want := jsonLen(s), encodedLen(t, s); got != want {
			t.Fatalf("jsonLen(%q) = %d, encoding/json writes %d", s, got, want)
		}
		if max < 0 {
			max = -max
		}
		head, cut := cutJSON(s, max)
		if !strings.HasPrefix(s, head) || jsonLen(head) > max || cut != (head != s) {
			t.Fatalf("cutJSON(%q, %d) = %q, %v", s, max, head, cut)
		}
		// Longest: one more character would not fit.
		if cut {
			_, size := utf8.DecodeRuneInString(s[len(head):])
			if jsonLen(s[:len(head)+size]) <= max {
				t.Fatalf("cutJSON(%q, %d) = %q stops too early", s, max, head)
			}
		}
	})
}

func TestFitWithNote(t *testing.T) {
	note := "[cut]"
	tests := []struct {
		s      string
		budget int
		want   string
		cut    bool
	}{
		{"short", 10, "short", false},
		{"exactly10!", 10, "exactly10!", false},
		{"0123456789ab", 10, "01234[cut]", true},
		{"0123456789ab", 3, "", true},
		{"\n\n\n\n\n\n", 9, "\n\n[cut]", true}, // each \n takes 2 bytes in JSON
	}
	for _, tt := range tests {
		got, used, cut := fitWithNote(tt.s, tt.budget, note)
		if got != tt.want || cut != tt.cut || used != jsonLen(got) || used > tt.budget {
			t.Errorf("fitWithNote(%q, %d) = %q, %d, %v; want %q, %v", tt.s, tt.budget, got, used, cut, tt.want, tt.cut)
		}
	}
}
