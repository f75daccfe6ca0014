package termsafe_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/internal/termsafe"
	"github.com/ingo-grader/ingo/internal/testutil"
)

func TestLineAndBlockText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, line, block string
	}{
		{"plain", "Hello, Ada!", "Hello, Ada!", "Hello, Ada!"},
		{"accents and CJK stay", "Grüße 你好 ✓", "Grüße 你好 ✓", "Grüße 你好 ✓"},
		{"lines", "a\nb\tc", "a b c", "a\nb\tc"},
		{"CRLF is a line end", "a\r\nb", "a b", "a\nb"},
		{"bare CR is shown", "failed\rsuccess", `failed\rsuccess`, `failed\rsuccess`},
		{"OSC 52", "\x1b]52;c;eA==\x07", `\x1b]52;c;eA==\x07`, `\x1b]52;c;eA==\x07`},
		{"CSI", "\x1b[2J\x1b[1A", `\x1b[2J\x1b[1A`, `\x1b[2J\x1b[1A`},
		{"C1 CSI", "\u009b2J", `\u009b2J`, `\u009b2J`},
		{"bidi override", "abc\u202edef\u2066", `abc\u202edef\u2066`, `abc\u202edef\u2066`},
		{"not UTF-8", "a\xffb\xc3", `a\xffb\xc3`, `a\xffb\xc3`},
		{"NUL and DEL", "a\x00b\x7f", `a\x00b\x7f`, `a\x00b\x7f`},
		{"backslashes stay", `\frac{1}{2} C:\x`, `\frac{1}{2} C:\x`, `\frac{1}{2} C:\x`},
		{"replacement character stays", "\uFFFD", "\uFFFD", "\uFFFD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := termsafe.Line(tc.in); got != tc.line {
				t.Errorf("termsafe.Line(%q) = %q, want %q", tc.in, got, tc.line)
			}
			if got := termsafe.Block(tc.in); got != tc.block {
				t.Errorf("termsafe.Block(%q) = %q, want %q", tc.in, got, tc.block)
			}
			if c := testutil.Obeyed(termsafe.Line(tc.in) + termsafe.Block(tc.in)); c != "" {
				t.Errorf("%q left %q", tc.in, c)
			}
		})
	}
	t.Run("more bidirectional controls", func(t *testing.T) {
		for _, r := range []rune{0x61c, 0x200e, 0x200f, 0x202a, 0x2069, 0xfff9, 0xfffb} {
			if got := termsafe.Line(string(r)); testutil.Obeyed(got) != "" || !strings.HasPrefix(got, `\u`) {
				t.Errorf("termsafe.Line(%U) = %q", r, got)
			}
		}
	})
}

// TestJSONKeepsTheValue: what JSON escapes decodes to the same strings;
// what a terminal shows as it is stays as it is.
func TestJSONKeepsTheValue(t *testing.T) {
	t.Parallel()
	in := map[string]string{"text": "é\u0085\u009b2J\u00a0<b>\u202e\x7f" + testutil.HostileText, "name": "ĉ 你好"}
	js, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := termsafe.JSON(js)
	if c := testutil.Obeyed(string(out)); c != "" {
		t.Errorf("JSON left %q in %s", c, out)
	}
	for _, want := range []string{`\u009b2J`, `\u202e`, `\u007f`, "é", "ĉ 你好", "\u00a0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("JSON wrote %s, without %q", out, want)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil || back["name"] != in["name"] ||
		back["text"] != strings.ToValidUTF8(in["text"], "\uFFFD") {
		t.Errorf("decoded %q (%v), want %q", back, err, in)
	}
	if plain := []byte(`{"a":"b"}`); &termsafe.JSON(plain)[0] != &plain[0] {
		t.Error("JSON copied a text with nothing to escape")
	}
}

// TestWriterShowsLogRecords: log/slog's JSON handler escapes C0 controls
// only; through Writer a record holds nothing a terminal obeys.
func TestWriterShowsLogRecords(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	log := slog.New(slog.NewJSONHandler(termsafe.Writer(&b), nil))
	log.Info("refused "+testutil.HostileText, "course", testutil.HostileText)
	if c := testutil.Obeyed(b.String()); c != "" {
		t.Errorf("a terminal obeys %q in %q", c, b.String())
	}
	var rec map[string]any
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil || rec["course"] != strings.ToValidUTF8(testutil.HostileText, "\uFFFD") {
		t.Errorf("record %q (%v)", b.String(), err)
	}
}
