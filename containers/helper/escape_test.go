package helper

import "testing"

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{`plain`, "plain"},
		{`a\nb\tc\\d`, "a\nb\tc\\d"},
		{`\'\"\a\b\f\r\v`, "'\"\a\b\f\r\v"},
		{`\x41\x42`, "AB"},
		{`\101\60\0`, "A0\x00"},
		{`\xc3\xa9`, "é"}, // bytes joined into UTF-8, as INGInious
		{`\u00e9\U0001F600`, "é😀"},
		{"line\\\ncontinued", "linecontinued"},
		{`\q stays`, `\q stays`},
		{`\x4 short`, `\x4 short`},
		{`\xZZ`, `\xZZ`},
		{`trailing\`, `trailing\`},
		{`\777`, `\777`},   // over a byte: kept
		{`\xff`, "\uFFFD"}, // a lone byte that is not UTF-8
		{"é unchanged", "é unchanged"},
	}
	for _, tt := range tests {
		if got := unescape(tt.in); got != tt.want {
			t.Errorf("unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
