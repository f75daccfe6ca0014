package taskfile

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/ingo-grader/ingo/internal/pyrepr"
)

// number reads a limit: any integer or float type (YAML and msgpack
// decode to different ones), or a string holding a number ('30'). ok is
// false when the value means "not set": null, an empty string, or 0.
func number(key string, v any) (f float64, ok bool, err error) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Invalid:
		return 0, false, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f = float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		f = float64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		f = rv.Float()
	case reflect.String:
		s := strings.TrimSpace(rv.String())
		if s == "" {
			return 0, false, nil
		}
		if f, err = strconv.ParseFloat(s, 64); err != nil {
			return 0, false, fmt.Errorf("%s: %q is not a number; INGInious would have refused the task (\"Invalid limit\")", key, rv.String())
		}
	default:
		return 0, false, fmt.Errorf("%s: %v is not a number; INGInious would have refused the task (\"Invalid limit\")", key, v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, false, fmt.Errorf("%s: %v is not a positive number; INGInious would have refused the task (\"Invalid limit\")", key, v)
	}
	return f, f > 0, nil
}

// boolean reads a switch: a boolean, a number (0 is false), or one of the
// strings INGInious' editors and hand-written files use.
func boolean(key string, v any) (bool, error) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Invalid:
		return false, nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return !rv.IsZero(), nil
	case reflect.String:
		switch strings.ToLower(strings.TrimSpace(rv.String())) {
		case "on", "true", "yes", "y", "1":
			return true, nil
		case "off", "false", "no", "n", "0", "":
			return false, nil
		}
		return false, fmt.Errorf("%s: %q is not on/off or true/false; INGInious would have taken any non-empty text as true", key, rv.String())
	}
	return false, fmt.Errorf("%s: %v is not on/off or true/false; INGInious would have taken it as %v (Python truthiness)", key, v, !rv.IsZero())
}

// text reads a string setting such as run_cmd; null is "".
func text(key string, v any) (string, error) {
	switch s := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(s), nil
	}
	return "", fmt.Errorf("%s: %v is not a text; INGInious' agent would have failed the job with crash", key, v)
}

// mapOf reads a mapping as YAML (map[string]any) or msgpack
// (map[string]any, or map[any]any for non-string keys) decoded it; null is
// an empty map.
func mapOf(key string, v any) (map[string]any, error) {
	switch m := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return m, nil
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, x := range m {
			out[fmt.Sprint(k)] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: %v is not a mapping; INGInious would have refused the task", key, v)
}

// stringKeys returns v with every mapping's keys made strings as Python's
// str makes them (2 is "2", true "True"). The webapp sends task.yaml's
// problems as PyYAML read them, and the wire (messages' free-form maps, as
// JSON) has string keys only; a key such as 2 (the network-trace plugin's
// "exclude: {2: [dns.id]}" in cnp3's courses) got the whole job refused as
// malformed.
func stringKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return v
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = stringKeys(x)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[pyrepr.Key(k)] = stringKeys(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = stringKeys(x)
		}
		return out
	}
	return v
}
