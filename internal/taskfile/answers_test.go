package taskfile

import (
	"strings"
	"testing"
)

func TestUnknownAnswers(t *testing.T) {
	problems := map[string]any{"name": map[string]any{"type": "code"}, "q2": nil}
	cases := []struct {
		name string
		ids  []string
		want []string // substrings, one per message
	}{
		{"all known", []string{"name", "q2", "@username", "@lang"}, nil},
		{"a code box", []string{"name/box1"}, nil},
		{"a typo", []string{"nme", "q2"}, []string{`problem "nme" is not one of the task's (did you mean "name"?) (it has name, q2)`}},
		{"two unknown, sorted", []string{"zz", "aa"}, []string{`"aa"`, `"zz"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := UnknownAnswers(problems, c.ids)
			if len(got) != len(c.want) {
				t.Fatalf("got %q, want %d messages", got, len(c.want))
			}
			for i := range got {
				if !strings.Contains(got[i], c.want[i]) {
					t.Errorf("message %d = %q, want it to hold %q", i, got[i], c.want[i])
				}
			}
		})
	}
	if got := UnknownAnswers(nil, []string{"anything"}); got != nil {
		t.Errorf("a task without problems: %q, want nothing", got)
	}
}
