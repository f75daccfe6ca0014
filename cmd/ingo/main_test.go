package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// syncBuffer is a bytes.Buffer safe for the goroutines of a running
// command (loggers, event printers) and the test reading it.
// syncBuffer collects a command's output or log.
type syncBuffer = testutil.SyncBuffer

// isolate blanks every INGO_* setting of the test process (empty values
// are ignored), so the machine's environment cannot change a command.
func isolate(t *testing.T) {
	t.Helper()
	t.Setenv(config.EnvConfig, "")
	// The default data directory, where the CLI finds its credentials,
	// holding the keys of the test's NATS servers.
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	testutil.WriteKeys(t, filepath.Join(data, "ingo"))
	for _, k := range schema.Keys() {
		t.Setenv(k.Env(), "")
	}
}

// runCmd runs one command line in-process.
func runCmd(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errOut syncBuffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRun_Version(t *testing.T) {
	isolate(t)
	// A broken settings file must not hide the version.
	t.Setenv(config.EnvConfig, "/nonexistent/ingo.yaml")
	code, out, errOut := runCmd(t.Context(), "version")
	if code != exitOK {
		t.Fatalf("version: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"version", "commit", "go1.", "protocol", fmt.Sprint(messages.ProtocolVersion)} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runCmd(t.Context(), "version", "--json")
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); code != exitOK || err != nil {
		t.Fatalf("version --json: exit %d, %v: %q", code, err, out)
	}
	if v.ProtocolVersion != messages.ProtocolVersion || v.GoVersion == "" || v.Version == "" {
		t.Errorf("version --json = %+v", v)
	}
}

func TestRun_HelpOfEveryCommand(t *testing.T) {
	isolate(t)
	root := newRootCmd(&app{})
	commands := [][]string{{"--help"}}
	for _, c := range root.Commands() {
		if c.Name() != "help" {
			commands = append(commands, []string{c.Name(), "--help"})
		}
	}
	if len(commands) < 9 {
		t.Fatalf("only %d commands: %v", len(commands), commands)
	}
	for _, args := range commands {
		code, out, errOut := runCmd(t.Context(), args...)
		if code != exitOK {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
		for _, want := range []string{"Usage:", "--nats-url", "--config", "--log-level"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: help lacks %q:\n%s", args, want, out)
			}
		}
	}
}

// TestRun_AgentDockerUnreachable: the docker runtime says at once that it
// cannot reach the daemon, and how to choose another.
func TestRun_AgentDockerUnreachable(t *testing.T) {
	isolate(t)
	t.Setenv("INGO_AGENT_DOCKER_HOST", "unix:///nonexistent/docker.sock")
	code, out, errOut := runCmd(t.Context(), "agent", "--runtime", "docker")
	if code != exitFailure {
		t.Errorf("exit %d, want %d; stderr %q", code, exitFailure, errOut)
	}
	for _, w := range []string{"Docker daemon", "--runtime noop"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr %q does not mention %q", errOut, w)
		}
	}
	if out != "" {
		t.Errorf("stdout should stay empty on error, got %q", out)
	}
}

func TestRun_BadCommandLines(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"submit"}, exitUsage, []string{"missing TASKDIR", "ingo submit --help"}},
		{[]string{"kill"}, exitUsage, []string{"missing JOBID"}},
		{[]string{"kill", "a", "b"}, exitUsage, []string{"too many arguments"}},
		{[]string{"queue", "--bogus"}, exitUsage, []string{"unknown flag: --bogus", "ingo queue --help"}},
		{[]string{"envs", "extra"}, exitUsage, []string{`unexpected argument "extra"`}},
		{[]string{"agent", "--concurrency", "many"}, exitUsage, []string{"--concurrency", "many"}},
		{[]string{"agent", "--concurrency", "0"}, exitFailure, []string{"agent.slots", "INGO_AGENT_SLOTS", "at least 1"}},
		{[]string{"agent", "--runtime", "podman"}, exitFailure, []string{"agent.runtime", "docker, noop or fake"}},
		{[]string{"agent", "--runtime", "noop", "--environments", "default"}, exitFailure, []string{"type/name"}},
		{[]string{"backend", "--log-level", "loud"}, exitFailure, []string{"log.level", "debug, info, warn, error"}},
		{[]string{"backend", "--nats-url", "localhost"}, exitFailure, []string{"nats.url", "nats://127.0.0.1:4222"}},
		{[]string{"queue", "--config", "/nonexistent/ingo.yaml"}, exitFailure, []string{"/nonexistent/ingo.yaml", "--config"}},
		{[]string{"submit", "/nonexistent/task"}, exitFailure, []string{"task folder", "/nonexistent/task"}},
		{[]string{"submit", ".", "-i", "novalue"}, exitFailure, []string{"PID=VALUE"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			isolate(t)
			code, out, errOut := runCmd(t.Context(), tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			if out != "" {
				t.Errorf("stdout should stay empty on error, got %q", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
		})
	}
}

// TestRun_NoNATS: a client command without a NATS server says what to
// start, within client.connect-timeout.
func TestRun_NoNATS(t *testing.T) {
	isolate(t)
	t.Setenv("INGO_CLIENT_CONNECT_TIMEOUT", "300ms")
	url := "nats://" + freeAddr(t)
	start := time.Now()
	code, _, errOut := runCmd(t.Context(), "queue", "--nats-url", url)
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	for _, w := range []string{"cannot reach NATS at " + url, "ingo up", "ingo backend --embedded-nats"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr %q lacks %q", errOut, w)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %v; the connect timeout was 300ms", d)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
}

// TestRun_NoBackend: NATS answers but no backend does; the command says so.
func TestRun_NoBackend(t *testing.T) {
	isolate(t)
	t.Setenv("INGO_CLIENT_CONNECT_TIMEOUT", "300ms")
	n := testutil.StartNATS(t)
	code, _, errOut := runCmd(t.Context(), "envs", "--nats-url", n.URL)
	if code != exitFailure || !strings.Contains(errOut, "no backend") || !strings.Contains(errOut, "ingo backend") {
		t.Errorf("exit %d, stderr %q; want an error saying no backend answered", code, errOut)
	}
}

// The backend's commands get the backend's floor under the collector,
// wherever their flags are; the others the small one.
func TestGCHeadroomFor(t *testing.T) {
	for _, c := range []struct {
		args []string
		want uint64
	}{
		{[]string{"backend"}, gcHeadroomBackend},
		{[]string{"backend", "--embedded-nats", "--data-dir", "/x"}, gcHeadroomBackend},
		{[]string{"--config", "/etc/ingo.yaml", "backend"}, gcHeadroomBackend},
		{[]string{"up"}, gcHeadroomBackend},
		{[]string{"agent", "--runtime", "noop"}, gcHeadroom},
		{[]string{"queue"}, gcHeadroom},
		{[]string{"no-such-command"}, gcHeadroom},
		{nil, gcHeadroom},
	} {
		if got := gcHeadroomFor(c.args); got != c.want {
			t.Errorf("%q: %d, want %d", c.args, got, c.want)
		}
	}
}
