package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/config"
	"github.com/spf13/pflag"
)

// writeSettings writes a settings file and returns its path.
func writeSettings(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ingo.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad_DefaultsOnly(t *testing.T) {
	isolate(t)
	got, _, err := schema.Load(config.Source{})
	if err != nil {
		t.Fatalf("Load with nothing configured: %v", err)
	}
	if want := schema.Defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("Load() = %+v\nwant schema.Defaults() = %+v", got, want)
	}
	if got.NATS.URL != "nats://127.0.0.1:4222" || got.Agent.Slots < 1 || got.Agent.Runtime != runtimeDocker {
		t.Errorf("unexpected defaults: nats.url=%q agent.slots=%d agent.runtime=%q",
			got.NATS.URL, got.Agent.Slots, got.Agent.Runtime)
	}
}

// TestLoad_Precedence checks flag > env > file > default for one key of
// each kind.
func TestLoad_Precedence(t *testing.T) {
	cases := []struct {
		key, flag              string
		file, env, flagValue   string
		def, fromFile, fromEnv any
		fromFlag               any
		get                    func(*Config) any
	}{
		{
			key: "nats.url", flag: "nats-url",
			file: "nats:\n  url: nats://file:4222\n", env: "nats://env:4222", flagValue: "nats://flag:4222",
			def: "nats://127.0.0.1:4222", fromFile: "nats://file:4222", fromEnv: "nats://env:4222", fromFlag: "nats://flag:4222",
			get: func(c *Config) any { return c.NATS.URL },
		},
		{
			key: "agent.slots", flag: "concurrency",
			file: "agent:\n  slots: 3\n", env: "5", flagValue: "7",
			def: schema.Defaults().Agent.Slots, fromFile: 3, fromEnv: 5, fromFlag: 7,
			get: func(c *Config) any { return c.Agent.Slots },
		},
		{
			key: "backend.heartbeat-interval", flag: "heartbeat-interval",
			file: "backend:\n  heartbeat-interval: 3s\n", env: "5s", flagValue: "7s",
			def: time.Second, fromFile: 3 * time.Second, fromEnv: 5 * time.Second, fromFlag: 7 * time.Second,
			get: func(c *Config) any { return c.Backend.HeartbeatInterval },
		},
		{
			key: "agent.environments", flag: "environments",
			file: "agent:\n  environments: [docker/file, docker/file2]\n", env: "docker/env, docker/env2", flagValue: "docker/flag,docker/flag2",
			def: []string(nil), fromFile: []string{"docker/file", "docker/file2"},
			fromEnv: []string{"docker/env", "docker/env2"}, fromFlag: []string{"docker/flag", "docker/flag2"},
			get: func(c *Config) any { return c.Agent.Environments },
		},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			isolate(t)
			load := func(file string, args ...string) any {
				t.Helper()
				fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
				schema.AddFlag(fs, tc.key, tc.flag, "", "")
				if err := fs.Parse(args); err != nil {
					t.Fatal(err)
				}
				c, _, err := schema.Load(config.Source{File: file, Flags: fs})
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return tc.get(c)
			}
			check := func(stage string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %s = %#v, want %#v", stage, tc.key, got, want)
				}
			}
			file := writeSettings(t, tc.file)
			check("default", load(""), tc.def)
			check("file over default", load(file), tc.fromFile)
			t.Setenv(config.EnvName(tc.key), tc.env)
			check("env over file", load(file), tc.fromEnv)
			check("flag over env", load(file, "--"+tc.flag+"="+tc.flagValue), tc.fromFlag)
		})
	}
}

func TestLoad_ConfigFromEnvironment(t *testing.T) {
	isolate(t)
	t.Setenv(config.EnvConfig, writeSettings(t, "prefix: fromfile\n"))
	c, file, err := schema.Load(config.Source{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Prefix != "fromfile" || file == "" {
		t.Errorf("prefix = %q, file = %q; want the file named by %s read", c.Prefix, file, config.EnvConfig)
	}
}

func TestLoad_FileErrors(t *testing.T) {
	cases := []struct {
		name, file string
		want       []string
	}{
		{"typo in a key", "backend:\n  heartbeat-intervall: 2s\n",
			[]string{`unknown key "backend.heartbeat-intervall"`, `did you mean "backend.heartbeat-interval"`}},
		{"unknown section", "frontend:\n  url: x\n", []string{`unknown key "frontend"`}},
		{"unknown top-level key", "nats-url: nats://x:4222\n", []string{`unknown key "nats-url"`}},
		{"section written as a value", "agent: 4\n", []string{`"agent" is a section`}},
		{"value written as a section", "prefix:\n  a: b\n", []string{`key "prefix" takes a value`}},
		{"duplicate key", "prefix: a\nprefix: b\n", []string{"already defined"}},
		{"duration without unit", "backend:\n  start-timeout: 10\n", []string{"start-timeout", `"10s"`}},
		{"word for a number", "agent:\n  slots: many\n", []string{"agent.slots"}},
		{"invalid value", "agent:\n  runtime: podman\n", []string{"agent.runtime", "INGO_AGENT_RUNTIME", "docker, noop or fake"}},
		{"bad size", "agent:\n  cache-size: lots\n", []string{"cache-size", "MiB"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			path := writeSettings(t, tc.file)
			_, _, err := schema.Load(config.Source{File: path})
			if err == nil {
				t.Fatalf("Load accepted %q", tc.file)
			}
			for _, w := range append(tc.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoad_MissingFile(t *testing.T) {
	isolate(t)
	_, _, err := schema.Load(config.Source{File: filepath.Join(t.TempDir(), "nope.yaml")})
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") || !strings.Contains(err.Error(), "--config") {
		t.Errorf("err = %v, want the missing file and a hint at --config", err)
	}
}

func TestLoad_BadEnvironmentValueNamesTheVariable(t *testing.T) {
	isolate(t)
	t.Setenv("INGO_AGENT_SLOTS", "0")
	_, _, err := schema.Load(config.Source{})
	if err == nil || !strings.Contains(err.Error(), "INGO_AGENT_SLOTS") || !strings.Contains(err.Error(), "at least 1") {
		t.Errorf("err = %v, want it to name INGO_AGENT_SLOTS and the bound", err)
	}
}

// The backend's lists of name=value are refused when the settings load,
// naming the entry: before, two of them only once the backend ran, after
// an embedded NATS server had started and its keys were written.
func TestLoad_BackendListsCheckedEarly(t *testing.T) {
	for _, tc := range []struct{ env, value, word string }{
		{"INGO_BACKEND_COURSE_WEIGHTS", "algo=heavy", "algo"},
		{"INGO_BACKEND_FRONTEND_MIN_PRIORITIES", "webapp=urgent", "webapp"},
		{"INGO_BACKEND_MAX_SSH_DEBUG_PER_CLIENTS", "webapp=many", "webapp"},
		{"INGO_BACKEND_MAX_SSH_DEBUG_PER_CLIENTS", "web.app=2", "not a client id"},
	} {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			isolate(t)
			t.Setenv(tc.env, tc.value)
			_, _, err := schema.Load(config.Source{})
			if err == nil || !strings.Contains(err.Error(), tc.word) {
				t.Errorf("err = %v, want a problem naming %q", err, tc.word)
			}
		})
	}
}

// TestLoad_EnvOnlyKeys guards against viper's AutomaticEnv caveat: a key set
// only by its variable, deep in a section, must still be seen.
func TestLoad_EnvOnlyKeys(t *testing.T) {
	isolate(t)
	t.Setenv("INGO_AGENT_MAX_LIMITS_HARD_TIME", "120")
	t.Setenv("INGO_AGENT_DEFAULT_LIMITS_OUTPUT", "512KiB")
	t.Setenv("INGO_BACKEND_EMBEDDED_NATS", "true")
	c, _, err := schema.Load(config.Source{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Agent.MaxLimits.HardTime != 120 || c.Agent.DefaultLimits.Output != 512<<10 || !c.Backend.EmbeddedNATS {
		t.Errorf("env-only keys not seen: max hard-time %v, default output %v, embedded-nats %v",
			c.Agent.MaxLimits.HardTime, c.Agent.DefaultLimits.Output, c.Backend.EmbeddedNATS)
	}
}

func TestAddFlag_DefaultsAndUsage(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	schema.AddFlag(fs, "agent.cache-size", "cache-size", "", "")
	schema.AddFlag(fs, "agent.slots", "concurrency", "", "job slots")
	f := fs.Lookup("cache-size")
	if f.DefValue != "1GiB" || !strings.Contains(f.Usage, "INGO_AGENT_CACHE_SIZE") {
		t.Errorf("cache-size: default %q usage %q", f.DefValue, f.Usage)
	}
	if u := fs.Lookup("concurrency").Usage; u != "job slots (INGO_AGENT_SLOTS)" {
		t.Errorf("concurrency usage = %q", u)
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"agent.slots":                    "INGO_AGENT_SLOTS",
		"nats.url":                       "INGO_NATS_URL",
		"agent.default-limits.hard-time": "INGO_AGENT_DEFAULT_LIMITS_HARD_TIME",
	} {
		if got := config.EnvName(key); got != want {
			t.Errorf("config.EnvName(%q) = %q, want %q", key, got, want)
		}
	}
}
