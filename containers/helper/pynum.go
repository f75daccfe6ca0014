package helper

import (
	"strconv"
	"strings"
)

// INGInious' commands convert their arguments with Python's int() and
// float(). Go's parsers take other spellings, so these two follow
// Python's rules for the decimal literals run files write.

// pyInt is Python's int(s) in base 10: surrounding space, a sign, and
// digits that single underscores may group ("1_000", PEP 515). An int
// beyond 64 bits is not one here (Python's would be), so it becomes a
// float, as before.
func pyInt(s string) (int64, bool) {
	t := strings.TrimSpace(s)
	digits := strings.TrimLeft(t, "+-")
	if len(t)-len(digits) > 1 || !underscoresBetweenDigits(digits) {
		return 0, false
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(t, "_", ""), 10, 64)
	return i, err == nil
}

// underscoresBetweenDigits reports whether s is ASCII digits, with each
// underscore between two of them.
func underscoresBetweenDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '_' && i > 0 && i+1 < len(s) && isDigit(s[i-1]) && isDigit(s[i+1]):
		default:
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// pyFloat is Python's float(s) for decimal numbers, surrounding space
// allowed. strconv.ParseFloat also reads Go's hexadecimal floats
// ("0x1p4"), which float() refuses; its underscore rules are Python's.
func pyFloat(s string) (float64, bool) {
	t := strings.TrimSpace(s)
	if strings.ContainsAny(t, "xX") {
		return 0, false
	}
	f, err := strconv.ParseFloat(t, 64)
	return f, err == nil
}
