package termsafe

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Line is s on one line: tabs and line ends become spaces, every other
// control character is made visible.
func Line(s string) string { return visible(s, false) }

// Block is s with its lines: newlines and tabs stay, a CRLF becomes a
// newline, every other control character is made visible.
func Block(s string) string { return visible(s, true) }

func visible(s string, lines bool) string {
	if !needsShowing(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t':
			if lines {
				b.WriteRune(r)
			} else {
				b.WriteByte(' ')
			}
		case r == '\r' && strings.HasPrefix(s[i+1:], "\n"):
			// A CRLF line end (Windows, or a program's own output
			// through a pseudo-terminal) is a line end: the newline.
		case r == '\r':
			b.WriteString(`\r`)
		case Obeyed(r):
			if r < 0x80 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// needsShowing: s holds a byte shown differently, checked first since
// almost every text holds none.
func needsShowing(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		} else if c >= 0x80 {
			// Multi-byte: decode the rest the slow way.
			return !utf8.ValidString(s[i:]) || strings.ContainsFunc(s[i:], Obeyed)
		}
	}
	return false
}

// Obeyed: r is a character a terminal acts on instead of printing, or one
// that reorders what is printed around it. C0 and C1 controls, DEL, the
// bidirectional marks (U+061C, U+200E, U+200F), embeddings, overrides and
// isolates (U+202A-U+202E, U+2066-U+2069), which "Trojan Source" showed
// can make text read as something else, and the interlinear annotation
// controls (U+FFF9-U+FFFB), which hide text between them. Newline and tab
// are controls too; callers decide.
func Obeyed(r rune) bool {
	switch {
	case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
		return true
	case r < 0x61c:
		return false
	}
	return r == 0x61c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e ||
		r >= 0x2066 && r <= 0x2069 || r >= 0xfff9 && r <= 0xfffb
}

// JSON rewrites what a terminal would obey in JSON encoded by
// encoding/json as \u escapes: it escapes C0 controls itself, but writes
// DEL, C1 controls (a terminal in UTF-8 may take U+009B as the start of a
// control sequence) and the bidirectional controls as they are. All of
// these can only stand inside strings (JSON's own syntax is ASCII, its
// newlines and indents included), where the escape means the same
// character. encoding/json writes valid UTF-8; a byte that is not (after
// a character rewritten) becomes U+FFFD.
func JSON(js []byte) []byte {
	at := bytes.IndexFunc(js, inJSON)
	if at < 0 {
		return js
	}
	out := append(make([]byte, 0, len(js)+32), js[:at]...)
	for _, r := range string(js[at:]) {
		if inJSON(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

// inJSON: r is shown escaped in JSON (whose C0 controls are either its
// own whitespace or escaped already).
func inJSON(r rune) bool { return r == 0x7f || r >= 0x80 && Obeyed(r) }

// Writer passes each Write on to w through JSON: for a writer that gets
// whole JSON records, one a call, as log/slog's JSON handler writes them.
func Writer(w io.Writer) io.Writer { return jsonWriter{w} }

type jsonWriter struct{ w io.Writer }

func (j jsonWriter) Write(p []byte) (int, error) {
	if _, err := j.w.Write(JSON(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
