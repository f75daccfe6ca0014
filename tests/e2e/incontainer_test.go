package e2e

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestDockerAgentInsideAContainer runs the agent as operators deploy it
// with Docker: the static binary in a FROM scratch image, with the Docker
// socket mounted. No host path is shared with the grading containers, so
// it grades exactly as on the host.
func TestDockerAgentInsideAContainer(t *testing.T) {
	testutil.RequireImage(t, gradingImage)
	c := newCluster(t)
	cl := c.client("web")

	dir := t.TempDir()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "ingo"), filepath.Join(root, "cmd", "ingo"))
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY ingo /ingo\nENTRYPOINT [\"/ingo\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	suffix := strings.ToLower(rand.Text()[:8])
	image, name, id := "ingo-test/agent-"+suffix, "ingo-test-agent-"+suffix, "boxed-"+suffix
	if out, err := exec.Command("docker", "build", "-q", "-t", image, dir).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })
	// The test's NATS listens on loopback: the agent shares the host's
	// network namespace to reach it (its grading containers do not).
	lo, hi := freePorts(t, 4)
	creds := testutil.CredsFile(t, natsauth.RoleAgent, id)
	run := exec.Command("docker", "run", "-d", "--name", name, "--network", "host",
		"-v", "/var/run/docker.sock:/var/run/docker.sock",
		"-v", creds+":/agent.creds:ro", "-e", "INGO_NATS_CREDS=/agent.creds",
		"-e", "INGO_NATS_URL="+c.nats.URL, "-e", "INGO_AGENT_ID="+id, "-e", "INGO_AGENT_CACHE_DIR=/tmp/cache",
		"-e", "INGO_AGENT_HEARTBEAT_INTERVAL=100ms",
		// Without the warm pool, so that every container left is a leak
		// (the pool's idle ones would stay until the agent stops).
		"-e", "INGO_AGENT_DOCKER_POOL_SIZE=0",
		"-e", "INGO_AGENT_SSH_LISTEN=127.0.0.1", "-e", fmt.Sprintf("INGO_AGENT_SSH_PORT_MIN=%d", lo), "-e", fmt.Sprintf("INGO_AGENT_SSH_PORT_MAX=%d", hi),
		image, "agent")
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", name).CombinedOutput()
			t.Logf("agent log:\n%s", out)
		}
		_ = exec.Command("docker", "rm", "-f", name).Run()
		for _, cid := range containers(t, "io.ingo.agent="+id) {
			_ = exec.Command("docker", "rm", "-f", cid).Run()
		}
	})
	waitEnvironments(t, cl, "docker/default")

	req := job("boxed", "docker/default", 0, nil)
	req.InputData = map[string]any{"name": "Box"}
	req.TaskDir = filepath.Join(root, "examples", "hello")
	r := result(t, submit(t, cl, req))
	if r.Result.Status != messages.StatusSuccess || r.Result.Text != "Hello, Box!" {
		t.Fatalf("result %+v", r.JobResult)
	}
	noneLeft(t, "grading containers left", "io.ingo.agent="+id)
	// Student containers and SSH need no path shared with the daemon
	// either: the channel rides on the attach stream.
	exerciseStudentAndSSH(t, c, cl, id)
	noneLeft(t, "containers left", "io.ingo.agent="+id)
}

// noneLeft waits for the containers with labels to be gone: a finished
// job's container is removed just after its result is sent.
func noneLeft(t *testing.T, what string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := containers(t, labels...)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
