package helper

import (
	"fmt"
	"unicode/utf8"
)

// The output limit bounds strings as they stand in result.json, JSON
// escapes included, so that the size of result.json is known in advance
// (see MaxResultBytes) whatever bytes a run file prints.

// jsonRuneLen is how many bytes encoding/json (HTML escaping off) writes
// for the rune r that took size bytes of the input.
func jsonRuneLen(r rune, size int) int {
	switch {
	case r == utf8.RuneError && size == 1:
		return 6 // invalid byte: \ufffd
	case r == '"' || r == '\\' || r == '\b' || r == '\f' || r == '\n' || r == '\r' || r == '\t':
		return 2
	case r < 0x20 || r == '\u2028' || r == '\u2029':
		return 6
	default:
		return size
	}
}

// jsonLen is the length of s encoded as a JSON string, quotes excluded.
func jsonLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		n += jsonRuneLen(r, size)
		i += size
	}
	return n
}

// cutJSON returns the longest prefix of s, ending on a character boundary,
// whose JSON encoding takes at most max bytes, and whether s was cut.
func cutJSON(s string, max int) (string, bool) {
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		l := jsonRuneLen(r, size)
		if n+l > max {
			return s[:i], true
		}
		n += l
		i += size
	}
	return s, false
}

// fitWithNote fits s into budget JSON bytes: unchanged when it fits, else
// cut and followed by note (or cut to nothing when even the note does not
// fit). It returns the text, its JSON length and whether it was cut.
func fitWithNote(s string, budget int, note string) (string, int, bool) {
	if l := jsonLen(s); l <= budget {
		return s, l, false
	}
	room := budget - jsonLen(note)
	if room < 0 {
		return "", 0, true
	}
	head, _ := cutJSON(s, room)
	out := head + note
	return out, jsonLen(out), true
}

func cutNote(what string, limit int64) string {
	return fmt.Sprintf("\n\n[ingo: %s cut here: over the output limit of %d bytes]\n", what, limit)
}
