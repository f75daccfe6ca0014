package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/internal/settings"
	"github.com/spf13/pflag"
)

// stageValues gives, for a key, three valid values that differ from the
// default and from each other's neighbours: for the file, the INGO_*
// variable and --set, in that order. Validated strings get their own.
var stageValues = map[string][3]string{
	"nats.url":             {"nats://file:4222", "nats://env:4222", "nats://set:4222"},
	"log.level":            {"debug", "warn", "error"},
	"log.format":           {"json", "text", "json"},
	"agent.runtime":        {"noop", "fake", "noop"},
	"agent.docker.seccomp": {"daemon", "ingo", "daemon"},
	// Odd replica counts only.
	"backend.replicas":       {"3", "5", "3"},
	"backend.course-weights": {"algo=2", "algo=3,java=1", "java=0.5"},
	// Lists of client=priority.
	"backend.frontend-min-priorities": {"webapp=-1", "webapp=-2,moodle=1", "moodle=-3"},
	// Lists of client=bound.
	"backend.max-ssh-debug-per-clients": {"webapp=3", "webapp=4,moodle=1", "moodle=0"},
	// Lists of name=environment.
	"agent.docker.environment-aliases": {"a=default", "b=default,c=toolchain", "d=minimal"},
}

// TestLoad_EveryKeyPrecedence gives every setting in turn by file, by
// INGO_* variable and by --set, and checks that each overrides the one
// before (defaults < file < environment < flags). It walks the key table,
// so a new setting is covered without touching the test.
func TestLoad_EveryKeyPrecedence(t *testing.T) {
	for _, k := range schema.Keys() {
		t.Run(k.Name, func(t *testing.T) {
			isolate(t)
			vals, ok := stageValues[k.Name]
			if !ok {
				vals = generated(t, k)
			}
			load := func(file string, sets ...string) any {
				t.Helper()
				c, _, err := schema.Load(config.Source{File: file, Flags: pflag.NewFlagSet("t", pflag.ContinueOnError), Set: sets})
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return field(t, c, k.Name)
			}
			def := load("")
			file := writeSettings(t, yamlFor(k.Name, vals[0]))
			fromFile := load(file)
			t.Setenv(k.Env(), vals[1])
			fromEnv := load(file)
			fromSet := load(file, k.Name+"="+vals[2])
			for _, s := range []struct {
				stage     string
				got, prev any
			}{{"file over default", fromFile, def}, {"env over file", fromEnv, fromFile}, {"--set over env", fromSet, fromEnv}} {
				if reflect.DeepEqual(s.got, s.prev) {
					t.Errorf("%s: %s stayed %#v (values %q)", s.stage, k.Name, s.got, vals)
				}
			}
			if want := field(t, mustLoadWith(t, k.Name, vals[2]), k.Name); !reflect.DeepEqual(fromSet, want) {
				t.Errorf("--set gave %#v, want %#v", fromSet, want)
			}
		})
	}
}

// generated makes stage values from the key's default and type.
func generated(t *testing.T, k config.Key) [3]string {
	t.Helper()
	var out [3]string
	for i := range out {
		n := i + 1
		switch d := k.Default.(type) {
		case string:
			out[i] = fmt.Sprintf("v%d%s", n, strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' {
					return r
				}
				return 'x'
			}, k.Name))
		case bool:
			out[i] = fmt.Sprint(d != (n%2 == 1))
		case int:
			out[i] = fmt.Sprint(d + n)
		case int64:
			out[i] = fmt.Sprint(d + int64(n))
		case float64:
			out[i] = fmt.Sprint(d + float64(n))
		case time.Duration:
			out[i] = (d + time.Duration(n)*time.Second).String()
		case settings.ByteSize:
			out[i] = fmt.Sprint(int64(d) + int64(n)*1024)
		case []string:
			out[i] = fmt.Sprintf("docker/v%d,docker/w%d", n, n)
		default:
			t.Fatalf("%s: no stage values for a %T default", k.Name, d)
		}
	}
	return out
}

// yamlFor writes "a.b.c: value" as nested YAML.
func yamlFor(key, value string) string {
	parts := strings.Split(key, ".")
	var b strings.Builder
	for i, p := range parts {
		b.WriteString(strings.Repeat("  ", i) + p + ":")
		if i < len(parts)-1 {
			b.WriteString("\n")
		}
	}
	b.WriteString(" " + yamlScalar(value) + "\n")
	return b.String()
}

func yamlScalar(v string) string {
	if strings.Contains(v, ",") && strings.HasPrefix(v, "docker/") {
		return "[" + v + "]"
	}
	return fmt.Sprintf("%q", v)
}

func mustLoadWith(t *testing.T, key, value string) *Config {
	t.Helper()
	isolate(t)
	c, _, err := schema.Load(config.Source{Set: []string{key + "=" + value}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// field reads the Config field of a dotted key.
func field(t *testing.T, c *Config, key string) any {
	t.Helper()
	f, ok := settings.Lookup(settings.MustFields(c), key)
	if !ok {
		t.Fatalf("no field for %s", key)
	}
	return f.Value.Interface()
}
