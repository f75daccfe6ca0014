package settings

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// Problem is a setting whose value is out of its bounds.
type Problem struct {
	Key string
	// Msg says what is wrong with the value and what would do.
	Msg string
}

func (p *Problem) Error() string { return p.Key + ": " + p.Msg }

// Check tests every field of the struct v points to against its check tag,
// and returns the problems joined (each a *Problem, found with errors.As on
// the joined error's Unwrap), or nil. The bounds:
//
//	positive   a number or duration above 0
//	nonneg     not below 0
//	min=N      a number at least N (a duration: min=1s)
//	nonempty   a string or list that is not empty
//	id         empty, or a subject token (messages.ValidateID)
//	oneof=a|b  one of these strings
func Check(v any) error {
	fs, err := Fields(v)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range fs {
		for _, c := range f.Checks {
			if msg := check(f, c); msg != "" {
				errs = append(errs, &Problem{Key: f.Key, Msg: msg})
			}
		}
	}
	return errors.Join(errs...)
}

// Problems lists the problems of an error from Check, or of errors that
// wrap or join them.
func Problems(err error) []*Problem {
	var out []*Problem
	var walk func(error)
	walk = func(e error) {
		if p, ok := e.(*Problem); ok {
			out = append(out, p)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

func check(f Field, c string) string {
	name, arg, _ := strings.Cut(c, "=")
	v := f.Value
	num := func() (float64, bool) {
		switch v.Kind() {
		case reflect.Int, reflect.Int64:
			return float64(v.Int()), true
		case reflect.Float64:
			return v.Float(), true
		}
		return 0, false
	}
	show := func() string {
		if v.Type() == durationType {
			return time.Duration(v.Int()).String()
		}
		if f.Unit == UnitBytes {
			return ByteSize(v.Int()).String()
		}
		return fmt.Sprint(v.Interface())
	}
	switch name {
	case "positive":
		if x, _ := num(); x <= 0 {
			if v.Type() == durationType {
				return fmt.Sprintf("must be a positive duration such as \"1s\", not %s", show())
			}
			return fmt.Sprintf("must be positive, not %s", show())
		}
	case "nonneg":
		if x, _ := num(); x < 0 {
			return "cannot be negative"
		}
	case "min":
		if v.Type() == durationType {
			m, err := time.ParseDuration(arg)
			if err == nil && time.Duration(v.Int()) < m {
				return fmt.Sprintf("must be at least %s, not %s", arg, show())
			}
			return ""
		}
		m, err := strconv.ParseFloat(arg, 64)
		if x, _ := num(); err == nil && x < m {
			if f.Unit == UnitBytes {
				arg = ByteSize(int64(m)).String()
			}
			return fmt.Sprintf("must be at least %s, not %s", arg, show())
		}
	case "nonempty":
		if v.Len() == 0 {
			return "cannot be empty"
		}
	case "id":
		if s := v.String(); s != "" {
			if err := messages.ValidateID(s); err != nil {
				return err.Error()
			}
		}
	case "oneof":
		if opts := strings.Split(arg, "|"); !slices.Contains(opts, v.String()) {
			list := opts[0]
			if n := len(opts); n > 1 {
				list = strings.Join(opts[:n-1], ", ") + " or " + opts[n-1]
			}
			return fmt.Sprintf("%q is not one of %s", v.String(), list)
		}
	default:
		return fmt.Sprintf("settings: unknown check %q", c)
	}
	return ""
}
