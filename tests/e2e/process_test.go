package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// ingoBinary builds cmd/ingo once per test run: process tests kill real
// processes, not goroutines pretending to die.
func ingoBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ingo-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		binary = filepath.Join(dir, "ingo")
		out, err := exec.Command("go", "build", "-o", binary, filepath.Join(root, "cmd", "ingo")).CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build ingo: %v", buildErr)
	}
	return binary
}

// process is a running ingo subcommand whose output goes to the test log
// when the test fails.
type process struct {
	cmd *exec.Cmd
	out *strings.Builder
	mu  *sync.Mutex
}

func startProcess(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(ingoBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	p := &process{cmd: cmd, out: &strings.Builder{}, mu: &sync.Mutex{}}
	cmd.Stdout, cmd.Stderr = lockedWriter{p}, lockedWriter{p}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("output of ingo %v:\n%s", args, p.out.String())
			p.mu.Unlock()
		}
	})
	return p
}

// kill is SIGKILL: no shutdown, no cleanup, as when a machine dies.
func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

type lockedWriter struct{ p *process }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

// containers lists the ids of containers with all the labels given.
func containers(t *testing.T, labels ...string) []string {
	t.Helper()
	args := []string{"ps", "-aq"}
	for _, l := range labels {
		args = append(args, "--filter", "label="+l)
	}
	out, err := exec.Command("docker", args...).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

// TestDockerAgentKilledAndRestarted kills an agent process with SIGKILL
// while its container grades: the container outlives it; the restarted
// agent (same id) removes it, the backend re-queues the job, and the job
// is graded by the new process. Nothing is left behind.
func TestDockerAgentKilledAndRestarted(t *testing.T) {
	c := newCluster(t)
	cl := c.client("web")
	testutil.RequireImage(t, gradingImage)
	id := "restarty-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))[:8]
	env := []string{"INGO_NATS_URL=" + c.nats.URL, "INGO_AGENT_ID=" + id, "INGO_AGENT_HEARTBEAT_INTERVAL=100ms",
		"INGO_AGENT_CACHE_DIR=" + t.TempDir(), "INGO_AGENT_SLOTS=2", "INGO_LOG_LEVEL=debug"}
	t.Cleanup(func() {
		for _, cid := range containers(t, "io.ingo.agent="+id) {
			_ = exec.Command("docker", "rm", "-f", cid).Run()
		}
	})
	first := startProcess(t, env, "agent")
	waitEnvironments(t, cl, "docker/default")

	req := job("survivor", "docker/default", 0, nil)
	req.TaskDir = taskDir(t, "#!/bin/sh\nsleep 3\nfeedback-result success\nfeedback-msg -m graded\n")
	j := submit(t, cl, req)
	deadline := time.Now().Add(wait)
	for len(containers(t, "io.ingo.agent="+id, "io.ingo.attempt=1")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no container for attempt 1")
		}
		time.Sleep(50 * time.Millisecond)
	}
	first.kill()
	if left := containers(t, "io.ingo.agent="+id, "io.ingo.attempt=1"); len(left) != 1 {
		t.Fatalf("after SIGKILL: %d containers of attempt 1, want the orphan", len(left))
	}

	startProcess(t, env, "agent")
	r := result(t, j)
	if r.Result.Status != messages.StatusSuccess || r.Result.Text != "graded" {
		t.Fatalf("result %+v", r.JobResult)
	}
	if left := containers(t, "io.ingo.agent="+id); len(left) != 0 {
		t.Fatalf("containers left behind: %v", left)
	}
	if s := c.backend.Stats(); s.Requeued != 1 {
		t.Fatalf("backend %+v: the job should have been re-queued once", s)
	}
}
