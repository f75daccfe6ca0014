// Package pyrepr writes values as Python's str writes them, where ingo
// must give the text an INGInious component (written in Python) would:
// a mapping key made a string, a multiple-choice answer compared as text.
package pyrepr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Float is Python's repr (and str) of a float: the shortest digits that
// read back, in exponent form below 1e-4 and from 1e16, with ".0" when
// whole (2.0 is "2.0", where Go's %v gives "2").
func Float(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		// Go's exponent is Python's: a sign and two digits at least.
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// Key is Python's str of a scalar, as a mapping key read from YAML or
// msgpack is one: a string itself, None, True/False, an integer in
// decimal, a float as Float. Anything else is as fmt.Sprint gives it.
func Key(k any) string {
	switch k := k.(type) {
	case string:
		return k
	case nil:
		return "None"
	case bool:
		if k {
			return "True"
		}
		return "False"
	case float32:
		return Float(float64(k))
	case float64:
		return Float(k)
	}
	return fmt.Sprint(k)
}
