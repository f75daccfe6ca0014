package helper

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// unescape interprets backslash escapes as the -e flag of INGInious'
// commands does (Python's "unicode-escape" codec applied to the UTF-8
// bytes): \\ \' \" \a \b \f \n \r \t \v, \<newline> (removed), \ooo (octal
// byte), \xhh (byte), \uXXXX and \UXXXXXXXX (code point). Bytes built with
// \x or octal escapes are joined into UTF-8 like in INGInious
// (feedback-msg -e -m '\xc3\xa9' gives "é"). Unknown or malformed escapes
// are kept as they are, where Python would fail; invalid UTF-8 in the
// result becomes U+FFFD.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		e := s[i+1]
		if simple, ok := simpleEscapes[e]; ok {
			if e != '\n' {
				b.WriteByte(simple)
			}
			i++
			continue
		}
		switch {
		case e >= '0' && e <= '7':
			n, v := 0, 0
			for n < 3 && i+1+n < len(s) && s[i+1+n] >= '0' && s[i+1+n] <= '7' {
				v = v*8 + int(s[i+1+n]-'0')
				n++
			}
			if v > 0xff {
				b.WriteByte(c) // Python refuses it; keep it literal
				continue
			}
			b.WriteByte(byte(v))
			i += n
		case e == 'x' || e == 'u' || e == 'U':
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+2+width > len(s) {
				b.WriteByte(c)
				continue
			}
			v, err := strconv.ParseUint(s[i+2:i+2+width], 16, 32)
			if err != nil || (e != 'x' && !utf8.ValidRune(rune(v))) {
				b.WriteByte(c)
				continue
			}
			if e == 'x' {
				b.WriteByte(byte(v))
			} else {
				b.WriteRune(rune(v))
			}
			i += 1 + width
		default:
			b.WriteByte(c) // unknown escape: Python keeps the backslash
		}
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

// simpleEscapes maps the character after a backslash to its byte; a
// backslash-newline is a line continuation (removed).
var simpleEscapes = map[byte]byte{
	'\\': '\\', '\'': '\'', '"': '"', 'a': '\a', 'b': '\b', 'f': '\f',
	'n': '\n', 'r': '\r', 't': '\t', 'v': '\v', '\n': 0,
}
