package settings

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

type limits struct {
	Time   float64 `key:"time" check:"nonneg" help:"CPU time"`
	Output int64   `key:"output" unit:"bytes" help:"output bound"`
}

type base struct {
	ID string `key:"id" check:"id" help:"an id"`
}

type sample struct {
	base     `key:",inline"`
	Name     string            `key:"name" check:"nonempty" help:"a name"`
	Every    time.Duration     `key:"every" check:"positive" help:"a period"`
	Slots    int               `key:"slots" check:"min=1" help:"slots"`
	Takeover time.Duration     `key:"takeover" check:"min=1s" help:"at least a second"`
	Mode     string            `key:"mode" check:"oneof=a|b|c" help:"a mode"`
	On       bool              `key:"on" help:"a switch"`
	Envs     []string          `key:"envs" help:"a list"`
	Aliases  map[string]string `key:"aliases" help:"pairs"`
	Limits   limits            `key:"limits" help:"limits of a job"`
	Hook     func()            `key:"-"`
}

func good() sample {
	return sample{base: base{ID: "a1"}, Name: "n", Every: time.Second, Slots: 1, Takeover: time.Second, Mode: "a",
		Aliases: map[string]string{"z": "1", "y": "2"}}
}

func TestFields_KeysHelpDefaults(t *testing.T) {
	t.Parallel()
	s := good()
	fs, err := Fields(&s)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range fs {
		keys = append(keys, f.Key)
	}
	want := []string{"id", "name", "every", "slots", "takeover", "mode", "on", "envs", "aliases", "limits.time", "limits.output"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	f, _ := Lookup(fs, "limits.output")
	if f.Help != "limits of a job: output bound" || f.Unit != UnitBytes || f.Default() != ByteSize(0) {
		t.Errorf("limits.output: %+v default %#v", f, f.Default())
	}
	if a, _ := Lookup(fs, "aliases"); !reflect.DeepEqual(a.Default(), []string{"y=2", "z=1"}) {
		t.Errorf("aliases default %v, want sorted name=value", a.Default())
	}
}

func TestFields_RefusesUndeclared(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"no key tag", &struct{ A int }{}, "has no key tag"},
		{"unsupported type", &struct {
			A []int `key:"a"`
		}{}, "cannot be a setting"},
		{"bytes on a string", &struct {
			A string `key:"a" unit:"bytes"`
		}{}, "only an int64"},
		{"not a struct", new(int), "not a struct"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Fields(c.v); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestField_Set(t *testing.T) {
	t.Parallel()
	cases := []struct {
		key  string
		raw  any
		want any
		err  string
	}{
		{"name", " text ", "text", ""},
		{"name", 12, "12", ""},
		{"every", "1m30s", 90 * time.Second, ""},
		{"every", 10, nil, "has no unit"},
		{"every", "10", nil, "Go duration"},
		{"slots", "7", 7, ""},
		{"slots", 7.0, 7, ""},
		{"slots", 7.5, nil, "whole number"},
		{"slots", "many", nil, "whole number"},
		{"on", "true", true, ""},
		{"on", "yes please", nil, "true or false"},
		{"envs", "a, b,,c", []string{"a", "b", "c"}, ""},
		{"envs", []any{"x", 2}, []string{"x", "2"}, ""},
		{"envs", map[string]any{}, nil, "not a list"},
		{"aliases", "cpp=default, java=toolchain", map[string]string{"cpp": "default", "java": "toolchain"}, ""},
		{"aliases", []any{"broken"}, nil, "name=value"},
		{"limits.time", "2.5", 2.5, ""},
		{"limits.output", "64KiB", int64(64 << 10), ""},
		{"limits.output", 1000, int64(1000), ""},
		{"limits.output", "lots", nil, "KiB"},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			s := good()
			f, _ := Lookup(MustFields(&s), c.key)
			err := f.Set(c.raw)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Set(%#v) err = %v, want %q", c.raw, err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Value.Interface(); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Set(%#v) = %#v, want %#v", c.raw, got, c.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	if err := Check(ptr(good())); err != nil {
		t.Fatalf("good value refused: %v", err)
	}
	bad := good()
	bad.ID, bad.Name, bad.Every, bad.Slots, bad.Takeover, bad.Mode, bad.Limits.Time = "a b", "", 0, 0, time.Millisecond, "d", -1
	err := Check(&bad)
	want := map[string]string{
		"id": "only letters", "name": "cannot be empty", "every": `positive duration such as "1s", not 0s`,
		"slots": "at least 1, not 0", "takeover": "at least 1s, not 1ms", "mode": `"d" is not one of a, b or c`,
		"limits.time": "cannot be negative",
	}
	ps := Problems(err)
	if len(ps) != len(want) {
		t.Errorf("%d problems, want %d: %v", len(ps), len(want), err)
	}
	for _, p := range ps {
		if w, ok := want[p.Key]; !ok || !strings.Contains(p.Msg, w) {
			t.Errorf("%s: %q, want %q", p.Key, p.Msg, w)
		}
	}
	var p *Problem
	if !errors.As(err, &p) {
		t.Errorf("errors.As found no *Problem in %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
