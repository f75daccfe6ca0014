package settings

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
)

// UnitBytes marks an int64 field that holds bytes.
const UnitBytes = "bytes"

// Field is one setting of a configuration struct.
type Field struct {
	// Key is the dotted key ("heartbeat-interval", "ssh.port-min").
	Key string
	// Help says what it means (a section's help leads its keys').
	Help string
	// Unit is UnitBytes or "".
	Unit string
	// Checks are the check tag's bounds.
	Checks []string
	// Value is the field itself, settable when Fields was given a pointer.
	Value reflect.Value
}

var durationType = reflect.TypeFor[time.Duration]()

// Fields lists the settings of the struct v points to (or of the struct v,
// read-only), in declaration order. It fails when a field has no key tag or
// a type no key can have: a bug of the struct's author.
func Fields(v any) ([]Field, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil, fmt.Errorf("settings: %T is not a struct", v)
	}
	var out []Field
	if err := walk(rv, "", "", &out); err != nil {
		return nil, err
	}
	return out, nil
}

// MustFields is Fields for declarations known to be right (a test covers
// them); it panics otherwise.
func MustFields(v any) []Field {
	f, err := Fields(v)
	if err != nil {
		panic(err)
	}
	return f
}

func walk(v reflect.Value, prefix, help string, out *[]Field) error {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() && !(sf.Anonymous && sf.Type.Kind() == reflect.Struct) {
			continue
		}
		tag, ok := sf.Tag.Lookup("key")
		if !ok {
			return fmt.Errorf("settings: field %s.%s has no key tag (key:\"name\", or key:\"-\" when it is not a setting)", t, sf.Name)
		}
		if tag == "-" {
			continue
		}
		name, opt, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		isStruct := sf.Type.Kind() == reflect.Struct && sf.Type != durationType
		switch {
		case opt == "inline":
			if !isStruct || name != "" {
				return fmt.Errorf("settings: field %s.%s: only a struct without a name can be inline", t, sf.Name)
			}
			if err := walk(fv, prefix, help, out); err != nil {
				return err
			}
			continue
		case name == "":
			return fmt.Errorf("settings: field %s.%s has an empty key", t, sf.Name)
		case isStruct:
			h := sf.Tag.Get("help")
			if help != "" && h != "" {
				h = help + "; " + h
			} else if h == "" {
				h = help
			}
			if err := walk(fv, prefix+name+".", h, out); err != nil {
				return err
			}
			continue
		}
		if err := supported(sf.Type, sf.Tag.Get("unit")); err != nil {
			return fmt.Errorf("settings: field %s.%s: %w", t, sf.Name, err)
		}
		h := sf.Tag.Get("help")
		if help != "" {
			h = help + ": " + h
		}
		f := Field{Key: prefix + name, Help: h, Unit: sf.Tag.Get("unit"), Value: fv}
		if c := sf.Tag.Get("check"); c != "" {
			f.Checks = strings.Split(c, ",")
		}
		*out = append(*out, f)
	}
	return nil
}

func supported(t reflect.Type, unit string) error {
	if unit != "" && !(unit == UnitBytes && t.Kind() == reflect.Int64) {
		return fmt.Errorf("unit %q on a %s (only an int64 may be in bytes)", unit, t)
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		return nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return nil
		}
	case reflect.Map:
		if t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String {
			return nil
		}
	}
	return fmt.Errorf("a %s cannot be a setting", t)
}

// Default is the field's value in the form the docs and flags show: a
// ByteSize for bytes, a sorted "name=value" list for a map, else the value.
func (f Field) Default() any {
	v := f.Value
	switch {
	case f.Unit == UnitBytes:
		return ByteSize(v.Int())
	case v.Kind() == reflect.Map:
		out := make([]string, 0, v.Len())
		for _, k := range slices.Sorted(maps.Keys(v.Interface().(map[string]string))) {
			out = append(out, k+"="+v.MapIndex(reflect.ValueOf(k)).String())
		}
		return out
	case v.Kind() == reflect.Slice:
		return slices.Clone(v.Interface().([]string))
	}
	return v.Interface()
}

// Lookup returns the field of key in fs.
func Lookup(fs []Field, key string) (Field, bool) {
	for _, f := range fs {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}
