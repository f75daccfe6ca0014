package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Much of what the CLI prints was written by someone else: feedback and
// output that student code can fill, course, task and user names a web app
// chose, error texts with those names in them. A terminal obeys the
// control sequences in what it is given: a student's program that prints
// ESC ] 52 sets the clipboard of the teacher who reads its result
// (pasted into a shell next), others retitle the window, clear the screen
// or move the cursor up to overwrite the lines above ("status: failed"),
// and bidirectional overrides reorder what a reader sees. So text from
// elsewhere is shown through lineText or blockText, which make every such
// character visible as an escape instead of obeying it. Backslashes stay
// as they are: feedback is full of them (LaTeX, paths) and a reader tells
// "\x1b" written by us from one written by a student by context.

// lineText is s on one line: tabs and line ends become spaces, every
// other control character is made visible.
func lineText(s string) string { return visible(s, false) }

// blockText is s with its lines: newlines and tabs stay, a CRLF becomes a
// newline, every other control character is made visible.
func blockText(s string) string { return visible(s, true) }

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
		case obeyed(r):
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
			return !utf8.ValidString(s[i:]) || strings.ContainsFunc(s[i:], obeyed)
		}
	}
	return false
}

// obeyed: r is a character a terminal acts on instead of printing, or one
// that reorders what is printed around it. C0 and C1 controls, DEL, and
// the bidirectional embeddings, overrides and isolates (U+202A-U+202E,
// U+2066-U+2069), which "Trojan Source" showed can make text read as
// something else. Newline and tab are controls too; callers decide.
func obeyed(r rune) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f ||
		r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// jsonShown rewrites what a terminal would obey in JSON encoded by
// encoding/json as \u escapes: it escapes C0 controls itself, but writes
// DEL, C1 controls (a terminal in UTF-8 may take U+009B as the start of a
// control sequence) and the bidirectional overrides as they are. All of
// these can only stand inside strings (JSON's own syntax is ASCII, its
// newlines and indents included), where the escape means the same
// character; encoding/json's output is valid UTF-8.
func jsonShown(js []byte) []byte {
	at := bytes.IndexFunc(js, func(r rune) bool { return r == 0x7f || r >= 0x80 && obeyed(r) })
	if at < 0 {
		return js
	}
	out := append(make([]byte, 0, len(js)+32), js[:at]...)
	for _, r := range string(js[at:]) {
		if r == 0x7f || r >= 0x80 && obeyed(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

// printJSON writes v as indented JSON followed by a newline.
func printJSON(w io.Writer, v any) error { return writeJSON(w, v, "  ") }

// printJSONLine writes v as JSON on one line, for streams of snapshots.
func printJSONLine(w io.Writer, v any) error { return writeJSON(w, v, "") }

func writeJSON(w io.Writer, v any, indent string) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", indent)
	// Feedback is often HTML or RST: keep <, > and & readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	if _, err := w.Write(jsonShown(b.Bytes())); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
