package helper

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseLikeArgparse(t *testing.T) {
	cmd := &command{
		name: "x",
		opts: []option{
			{short: 'a', long: "append"},
			{short: 'e', long: "escape"},
			{short: 'i', long: "id", value: true},
			{short: 'm', long: "message", value: true},
			{long: "message-file", value: true},
		},
		pos:  []string{"first"},
		rest: "more",
	}
	tests := []struct {
		name  string
		argv  []string
		vals  map[string]string
		flags map[string]bool
		pos   []string
		rest  []string
		err   string // "help", "usage" or ""
	}{
		{name: "plain", argv: []string{"-a", "-i", "q1", "p"},
			vals: map[string]string{"id": "q1"}, flags: map[string]bool{"append": true}, pos: []string{"p"}},
		{name: "grouped flags", argv: []string{"-ae", "p"},
			flags: map[string]bool{"append": true, "escape": true}, pos: []string{"p"}},
		{name: "group ending with a value option", argv: []string{"-aemhello", "p"},
			vals: map[string]string{"message": "hello"}, flags: map[string]bool{"append": true, "escape": true}, pos: []string{"p"}},
		{name: "group then separate value", argv: []string{"-am", "hello", "p"},
			vals: map[string]string{"message": "hello"}, flags: map[string]bool{"append": true}, pos: []string{"p"}},
		{name: "short with =", argv: []string{"-m=x", "p"}, vals: map[string]string{"message": "x"}, pos: []string{"p"}},
		{name: "long with =", argv: []string{"--message=a=b", "p"}, vals: map[string]string{"message": "a=b"}, pos: []string{"p"}},
		{name: "exact long beats prefix", argv: []string{"--message", "m", "p"}, vals: map[string]string{"message": "m"}, pos: []string{"p"}},
		{name: "unique abbreviation", argv: []string{"--app", "--message-f", "f", "p"},
			vals: map[string]string{"message-file": "f"}, flags: map[string]bool{"append": true}, pos: []string{"p"}},
		{name: "ambiguous abbreviation", argv: []string{"--mess", "x", "p"}, err: "usage"},
		{name: "interleaved", argv: []string{"p", "-i", "q1", "r1", "-a", "r2"},
			vals: map[string]string{"id": "q1"}, flags: map[string]bool{"append": true}, pos: []string{"p"}, rest: []string{"r1", "r2"}},
		{name: "negative number is positional", argv: []string{"-5", "-1.5"}, pos: []string{"-5"}, rest: []string{"-1.5"}},
		{name: "dash word with a space is positional", argv: []string{"-not an option"}, pos: []string{"-not an option"}},
		{name: "lone dash is positional", argv: []string{"-"}, pos: []string{"-"}},
		{name: "double dash ends options", argv: []string{"--", "-a", "--id"}, pos: []string{"-a"}, rest: []string{"--id"}},
		{name: "value may start with a dash", argv: []string{"-m", "-a", "p"}, vals: map[string]string{"message": "-a"}, pos: []string{"p"}},
		{name: "missing value", argv: []string{"p", "-m"}, err: "usage"},
		{name: "missing positional", argv: []string{"-a"}, err: "usage"},
		{name: "unknown short", argv: []string{"-z", "p"}, err: "usage"},
		{name: "unknown long", argv: []string{"--zzz", "p"}, err: "usage"},
		{name: "flag given a value", argv: []string{"--append=yes", "p"}, err: "usage"},
		{name: "help", argv: []string{"-h"}, err: "help"},
		{name: "long help", argv: []string{"p", "--help"}, err: "help"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := cmd.parse(tt.argv)
			var ue *usageError
			switch {
			case tt.err == "help" && errors.Is(err, errHelp), tt.err == "usage" && errors.As(err, &ue):
				return
			case tt.err != "" || err != nil:
				t.Fatalf("err = %v, want %s", err, tt.err)
			}
			eq := func(what string, got, want any) {
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			eq("vals", p.vals, orEmpty(tt.vals))
			eq("flags", p.flags, orEmpty(tt.flags))
			eq("pos", p.pos, tt.pos)
			if len(p.rest) != 0 || len(tt.rest) != 0 {
				eq("rest", p.rest, tt.rest)
			}
		})
	}
}

func orEmpty[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}

func TestExtraPositionalsRefused(t *testing.T) {
	cmd := &command{name: "x", pos: []string{"one"}}
	var ue *usageError
	if _, err := cmd.parse([]string{"a", "b"}); !errors.As(err, &ue) {
		t.Errorf("err = %v, want a usage error", err)
	}
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"by link name", []string{"/usr/local/bin/tag-set", "-h"}, 0},
		{"as a sub-command", []string{"/usr/local/bin/ingo-helper", "tag-set", "-h"}, 0},
		{"any other name uses the sub-command", []string{"./helper.test", "feedback-msg", "-h"}, 0},
		{"no command", []string{"ingo-helper"}, exitUsage},
		{"unknown command", []string{"ingo-helper", "frobnicate"}, exitUsage},
		{"help", []string{"ingo-helper", "--help"}, 0},
		{"usage error", []string{"feedback-grade"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &cmdEnv{paths: NewPaths(t.TempDir()), stdin: nopReader{}, stdout: discard{}, stderr: discard{}, getenv: func(string) string { return "" }}
			if got := dispatch(env, tt.args); got != tt.code {
				t.Errorf("exit %d, want %d", got, tt.code)
			}
		})
	}
}

type nopReader struct{}

func (nopReader) Read([]byte) (int, error) { return 0, errors.New("no stdin in this test") }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
