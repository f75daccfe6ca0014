package settings

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Set gives the field a value as a file, a variable or a flag writes it: text
// (variables, flags) or what YAML decodes (a number, a bool, a list). The
// error says what was wrong and how to write it, not which key: the caller
// names that.
func (f Field) Set(raw any) error {
	v := f.Value
	if !v.CanSet() {
		return fmt.Errorf("settings: %s is read-only (Fields was given a value, not a pointer)", f.Key)
	}
	if s, ok := raw.(string); ok {
		raw = strings.TrimSpace(s)
	}
	switch {
	case f.Unit == UnitBytes:
		n, err := byteSize(raw)
		if err != nil {
			return err
		}
		v.SetInt(n)
		return nil
	case v.Type() == durationType:
		d, err := duration(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			s = fmt.Sprint(raw)
		}
		v.SetString(s)
	case reflect.Bool:
		b, err := boolean(raw)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := integer(raw)
		if err != nil {
			return err
		}
		if v.OverflowInt(n) {
			return fmt.Errorf("%d is too large", n)
		}
		v.SetInt(n)
	case reflect.Float64:
		x, err := float(raw)
		if err != nil {
			return err
		}
		v.SetFloat(x)
	case reflect.Slice:
		list, err := stringList(raw)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(list))
	case reflect.Map:
		list, err := stringList(raw)
		if err != nil {
			return err
		}
		m := make(map[string]string, len(list))
		for _, p := range list {
			name, value, ok := strings.Cut(p, "=")
			name, value = strings.TrimSpace(name), strings.TrimSpace(value)
			if !ok || name == "" || value == "" {
				return fmt.Errorf("%q: write each item as name=value", p)
			}
			m[name] = value
		}
		v.Set(reflect.ValueOf(m))
	default:
		return fmt.Errorf("settings: %s has an unsupported type %s", f.Key, v.Type())
	}
	return nil
}

// duration refuses bare numbers: "timeout: 10" read as 10ns is never what
// was meant.
func duration(raw any) (time.Duration, error) {
	const how = "write it as a Go duration such as \"10s\", \"1m30s\" or \"500ms\""
	switch x := raw.(type) {
	case time.Duration:
		return x, nil
	case string:
		d, err := time.ParseDuration(x)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %s", x, how)
		}
		return d, nil
	}
	return 0, fmt.Errorf("duration %v has no unit: %s", raw, how)
}

func byteSize(raw any) (int64, error) {
	switch x := raw.(type) {
	case string:
		b, err := ParseByteSize(x)
		return int64(b), err
	case ByteSize:
		return int64(x), nil
	}
	n, err := integer(raw)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %v: write a number of bytes, optionally with a unit such as KiB, MiB or GiB", raw)
	}
	return n, nil
}

func boolean(raw any) (bool, error) {
	switch x := raw.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(x); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("%v is not true or false", raw)
}

func integer(raw any) (int64, error) {
	switch x := raw.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<62 {
			return int64(x), nil
		}
	case string:
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%v is not a whole number", raw)
}

func float(raw any) (float64, error) {
	switch x := raw.(type) {
	case float64:
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("%v is not a number", raw)
}

// stringList takes a YAML list, or text with comma-separated items; items
// are trimmed and empty ones dropped, so "a, b," means a and b.
func stringList(raw any) ([]string, error) {
	var items []string
	switch x := raw.(type) {
	case string:
		items = strings.Split(x, ",")
	case []string:
		items = x
	case []any:
		for _, e := range x {
			switch e.(type) {
			case string, int, int64, float64, bool:
				items = append(items, fmt.Sprint(e))
			default:
				return nil, fmt.Errorf("list item %v is not a plain value", e)
			}
		}
	case nil:
	default:
		return nil, fmt.Errorf("%v is not a list: write a list, or items separated by commas", raw)
	}
	out := []string{}
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}
