package mcq

import (
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/ingo-grader/ingo/internal/pyrepr"
)

// task_problems and the input come from YAML and JSON through the web app
// (Python), then CBOR: these read them as Python would.

// Truthy is Python's truth of v, a value of YAML, JSON or CBOR: false for
// nothing, false, zero and empty texts, lists and maps. INGInious tests
// a problem's flags (multiple, centralize, a choice's valid) so.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case float64:
		return x != 0
	case float32:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	case map[any]any:
		return len(x) > 0
	}
	if n, ok := pyInt(v); ok {
		return n != 0
	}
	return true
}

// pyInt is v as an integer when Python's isinstance(v, int) holds: any
// integer, and a bool (True is 1).
func pyInt(v any) (int64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint:
		if uint64(x) > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// pyStr is Python's str(v) for the scalars a match answer can be.
func pyStr(v any) string {
	switch v.(type) {
	case string, nil, bool, float64, float32:
		return pyrepr.Key(v)
	}
	if n, ok := pyInt(v); ok {
		return strconv.FormatInt(n, 10)
	}
	return typeName(v)
}

// names: Python's a == i or a == str(i), a choice's index as a list of
// answers holds it.
func names(a any, i int) bool {
	switch x := a.(type) {
	case string:
		return x == strconv.Itoa(i)
	case float64:
		return x == float64(i)
	case float32:
		return float64(x) == float64(i)
	}
	n, ok := pyInt(a)
	return ok && n == int64(i)
}

// typeName names what v is, for a result text.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "text"
	case bool:
		return "true or false"
	case []any:
		return "list"
	case map[string]any, map[any]any:
		return "map"
	case float64, float32:
		return "number"
	}
	if _, ok := pyInt(v); ok {
		return "number"
	}
	return "value"
}

// pyStrip is Python's str.strip(): its white space is Go's and the
// separators U+001C to U+001F.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f })
}
