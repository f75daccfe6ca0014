package helper

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	fields := map[string]string{
		"q1":          "a = 1\nb = 2\n",
		"name":        "f",
		"empty":       "",
		"crlf":        "x\r\ny",
		"up:filename": "main.c",
		"@lang":       "fr",
		"q.1":         "dot",
		"inject":      "@@q1@@",
	}
	tests := []struct{ name, tpl, want string }{
		{"no marker", "plain text", "plain text"},
		{"plain marker", "def @@name@@():", "def f():"},
		{"indentation", "def f():\n@    @q1@@\n", "def f():\n    a = 1\n    b = 2\n"},
		{"prefix and suffix on every line", "@// @q1@ ;@", "// a = 1 ;\n// b = 2 ;"},
		{"twice", "@@name@@ and @@name@@", "f and f"},
		{"empty answer removes the line's marker", "[@    @empty@@]", "[]"},
		{"crlf split as Python", "@>@crlf@@", ">x\n>y"},
		{"file name", "@@up:filename@@", "main.c"},
		{"at-keys", "lang=@@@lang@@", "lang=fr"},
		{"unknown id left alone", "@@nope@@ @@name@@", "@@nope@@ f"},
		{"dot matched literally", "@@qx1@@ @@q.1@@", "@@qx1@@ dot"},
		{"email before a marker", "mail a@b.c @@name@@", "mail a@b.c f"},
		{"inserted text is not rescanned", "@@inject@@", "@@q1@@"},
		{"unclosed marker", "@@name@", "@@name@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseTemplate(tt.tpl, fields); got != tt.want {
				t.Errorf("parseTemplate(%q) = %q, want %q", tt.tpl, got, tt.want)
			}
		})
	}
}

func FuzzParseTemplate(f *testing.F) {
	f.Add("def f():\n@    @q1@@\n", "x\ny", "  ", "")
	f.Add("@@q1@@", "", "", "")
	f.Add("a@b@q1@c@d", "1\r\n2\u2028", "b", "c")
	f.Fuzz(func(t *testing.T, tpl, answer, prefix, suffix string) {
		fields := map[string]string{"q1": answer}
		out := parseTemplate(tpl, fields) // must not panic
		if !strings.Contains(tpl, "@") && out != tpl {
			t.Fatalf("a template without markers changed: %q -> %q", tpl, out)
		}
		// A lone marker between texts without '@' becomes the answer's
		// lines, each between prefix and suffix.
		if strings.Contains(prefix+suffix+answer, "@") {
			return
		}
		around := strings.ReplaceAll(tpl, "@", "")
		got := parseTemplate(around+"@"+prefix+"@q1@"+suffix+"@"+around, fields)
		var lines []string
		for _, l := range splitLines(answer) {
			lines = append(lines, prefix+l+suffix)
		}
		if want := around + strings.Join(lines, "\n") + around; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

func TestSplitLinesLikePython(t *testing.T) {
	// Expected values from Python 3's str.splitlines().
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a"}},
		{"a\n\nb", []string{"a", "", "b"}},
		{"a\r\nb\rc\nd", []string{"a", "b", "c", "d"}},
		{"a\r\r\nb", []string{"a", "", "b"}},
		{"\n", []string{""}},
		{"a\vb\fc\x1cd\x1de\x1ef\u0085g\u2028h\u2029i", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}},
	}
	for _, tt := range tests {
		if got := splitLines(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRenderTemplate(t *testing.T) {
	vars := map[string]string{"who": "Bob", "n": "3"}
	tests := []struct {
		tpl, want string
		fails     bool
	}{
		{tpl: "Hello {{ who }}!\n", want: "Hello Bob!"},
		{tpl: "{{who}}{{n}}", want: "Bob3"},
		{tpl: "a {# note #}b", want: "a b"},
		{tpl: "a\n  {{- who -}}  \nb", want: "aBobb"},
		{tpl: "{{ missing }}.", want: "."},
		{tpl: "single { brace }", want: "single { brace }"},
		{tpl: "two lines\n\n", want: "two lines\n"},
		{tpl: "{% if x %}y{% endif %}", fails: true},
		{tpl: "{{ who | upper }}", fails: true},
		{tpl: "{{ who ", fails: true},
	}
	for _, tt := range tests {
		got, err := renderTemplate(tt.tpl, vars)
		if (err != nil) != tt.fails || (!tt.fails && got != tt.want) {
			t.Errorf("renderTemplate(%q) = %q, %v; want %q (fails %v)", tt.tpl, got, err, tt.want, tt.fails)
		}
	}
}
