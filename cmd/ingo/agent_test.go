package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/docker"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestNewRuntime_Fake: --runtime fake offers agent.environments, plays the
// "@fake" input and appends its run log to agent.fake-run-log.
func TestNewRuntime_Fake(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "runs.log")
	if err := os.WriteFile(path, []byte("earlier line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := schema.Defaults().Agent
	cfg.Runtime = runtimeFake
	cfg.Environments = []string{"docker/default", "docker-ssh/python3"}
	cfg.FakeRunLog = path
	rt, err := newRuntime(t.Context(), cfg, "agent7", nil)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Name() != "fake" {
		t.Errorf("runtime %q, want fake", rt.Name())
	}
	envs, err := rt.Environments(t.Context())
	if err != nil || len(envs["docker"]) != 1 || len(envs["docker-ssh"]) != 1 {
		t.Fatalf("environments %v, %v", envs, err)
	}
	job := &containers.Job{AgentID: "agent7", Attempt: 2, Limits: messages.Limits{HardTime: 10},
		Desc: &messages.JobDescription{JobID: "j1", EnvironmentType: "docker-ssh", Environment: "python3",
			InputData: map[string]any{"@fake": map[string]any{"result": "failed"}}}}
	res, err := rt.Run(t.Context(), job, nil)
	if err != nil || res.Result.Status != messages.StatusFailed {
		t.Fatalf("Run = %+v, %v", res.Result, err)
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(); err != nil { // Close may be called twice
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "earlier line" ||
		!strings.HasPrefix(lines[1], "start ") || !strings.HasSuffix(lines[1], " agent7 j1 2") ||
		!strings.HasPrefix(lines[2], "end ") || !strings.HasSuffix(lines[2], " agent7 j1 2 failed") {
		t.Errorf("run log appended wrongly:\n%s", data)
	}

	cfg.FakeRunLog = filepath.Join(t.TempDir(), "missing", "runs.log")
	if _, err := newRuntime(t.Context(), cfg, "agent7", nil); err == nil || !strings.Contains(err.Error(), "agent.fake-run-log") {
		t.Errorf("unwritable run log: err = %v", err)
	}
}

// `ingo agent --runtime noop` offers the environments of the images ingo
// ships unless --environments names others (it offered docker/default
// alone, so a task for docker/minimal was refused when trying ingo out),
// and INGInious' mcq/mcq unless agent.mcq is off.
func TestAgent_NoopEnvironments(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want map[string][]string
	}{
		{"default", nil, map[string][]string{"docker": {"default", "minimal", "toolchain"}, "mcq": {"mcq"}}},
		{"--environments", []string{"--environments", "docker/python3,docker-ssh/python3"},
			map[string][]string{"docker": {"python3"}, "docker-ssh": {"python3"}, "mcq": {"mcq"}}},
		{"without MCQ", []string{"--set", "agent.mcq=false"}, map[string][]string{"docker": {"default", "minimal", "toolchain"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := startSystem(t, append([]string{"--runtime", "noop"}, tc.args...)...)
			var got map[string][]string
			testutil.Eventually(t, 20*time.Second, func() bool {
				_, out, _ := client("envs", "--json")
				return json.Unmarshal([]byte(out), &got) == nil && len(got) > 0
			}, "no environment offered")
			for typ := range got {
				slices.Sort(got[typ])
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("envs --json: %v, want %v", got, tc.want)
			}
		})
	}
}

// An agent with fewer SSH ports than slots says so at start.
func TestSSHPortsWarning(t *testing.T) {
	for _, tt := range []struct {
		slots, min, max int
		warns           bool
	}{
		{4, docker.DefaultSSHPortMin, docker.DefaultSSHPortMax, false},  // 11 ports
		{11, docker.DefaultSSHPortMin, docker.DefaultSSHPortMax, false}, // as many
		{16, docker.DefaultSSHPortMin, docker.DefaultSSHPortMax, true},
		{16, 0, 0, false},          // SSH off
		{2, 7000, 7000, true},      // one port
		{2, 7000, 7000 - 1, false}, // refused by Validate, not warned of
	} {
		w := sshPortsWarning(tt.slots, docker.SSHOptions{PortMin: tt.min, PortMax: tt.max})
		if (w != "") != tt.warns {
			t.Errorf("%d slots, ports %d-%d: warning %q, want one: %v", tt.slots, tt.min, tt.max, w, tt.warns)
		}
	}
}
