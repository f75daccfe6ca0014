package testutil

import (
	"strings"
	"unicode/utf8"

	"github.com/ingo-grader/ingo/internal/termsafe"
)

// HostileText is what a student's program can print, or a web app name a
// course, task or user: a clipboard write (OSC 52), a screen clear, a
// cursor move up over the lines above, a C1 control sequence introducer,
// a right-to-left override, a bare carriage return, a byte that is not
// UTF-8, NUL and DEL. A reader must still see "]52;c;cm0gLXJmIH4K" and
// "status: success" in what shows it.
const HostileText = "A\x1b]52;c;cm0gLXJmIH4K\x07B\x1b[2J\x1b[1AC\u009b2JD\u202eE\rstatus: success\xffF\x00\x7f"

// Obeyed returns the first character of out that a terminal would act
// on instead of showing (package termsafe), or "" if none: out is what a
// person sees, whatever it quotes. Newlines and tabs are shown.
func Obeyed(out string) string {
	for i, r := range out {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(out[i:], "\uFFFD"):
			return out[i : i+1]
		case r == '\n' || r == '\t':
		case termsafe.Obeyed(r):
			return string(r)
		}
	}
	return ""
}
