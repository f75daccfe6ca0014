package taskfile

import (
	"slices"
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

// TestTakesList: only a multiple_choice problem with multiple set takes a
// list, multiple read as Python reads it, and as Parse gives task.yaml.
func TestTakesList(t *testing.T) {
	t.Parallel()
	spec, err := Parse([]byte(`
problems:
  many: {type: multiple_choice, multiple: true, choices: [{text: a, valid: true}]}
  one: {type: multiple_choice, choices: [{text: a, valid: true}]}
  off: {type: multiple_choice, multiple: false, choices: [{text: a, valid: true}]}
  word: {type: multiple_choice, multiple: 'yes', choices: [{text: a, valid: true}]}
  code: {type: code, multiple: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	for pid, want := range map[string]bool{"many": true, "one": false, "off": false, "word": true, "code": false, "nope": false, "@random": false} {
		if got := TakesList(spec.Problems, pid); got != want {
			t.Errorf("TakesList(%q) = %v, want %v", pid, got, want)
		}
	}
}

// TestUnanswered: the problems no answer key names, a code problem's
// boxes answering it.
func TestUnanswered(t *testing.T) {
	problems := map[string]any{"name": map[string]any{"type": "code"}, "q2": nil, "up": map[string]any{"type": "file"}}
	for _, c := range []struct {
		ids  []string
		want []string
	}{
		{[]string{"name", "q2", "up", "@username"}, nil},
		{[]string{"name/box1", "q2"}, []string{"up"}},
		{nil, []string{"name", "q2", "up"}},
	} {
		if got := Unanswered(problems, c.ids); !slices.Equal(got, c.want) {
			t.Errorf("Unanswered(%q) = %q, want %q", c.ids, got, c.want)
		}
	}
}
