package docker

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/messages"
)

// requireEnv turns a missing daemon from a skip into a failure (CI sets it).
const requireEnv = "INGO_REQUIRE_DOCKER"

var (
	dockerOnce sync.Once
	dockerErr  error
)

// daemon pings the daemon once per test binary.
func daemon() error {
	dockerOnce.Do(func() {
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			dockerErr = err
			return
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, dockerErr = cli.Ping(ctx)
	})
	return dockerErr
}

// requireDocker skips the test when no Docker daemon answers, unless
// INGO_REQUIRE_DOCKER=1, when it fails.
func requireDocker(t testing.TB) {
	t.Helper()
	if err := daemon(); err != nil {
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("no Docker daemon answers (%v) and %s=1", err, requireEnv)
		}
		t.Skipf("no Docker daemon answers (%v); set %s=1 to make this a failure", err, requireEnv)
	}
}

// TestMain brings the grading images up to date: build.sh rebuilds an
// image only when its inputs (the helper, the Dockerfile) changed, so a
// helper changed since the last build is what these tests run. Once they
// passed, it fails the run if the runtimes left containers or volumes.
func TestMain(m *testing.M) {
	if daemon() == nil {
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "images", "build.sh")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		cmd := exec.CommandContext(ctx, script)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "containers/docker tests: building the images failed:", err)
		}
		cancel()
	}
	code := m.Run()
	if daemon() == nil && code == 0 {
		left, err := leftovers()
		switch {
		case err != nil:
			fmt.Fprintln(os.Stderr, "containers/docker tests: listing leftovers:", err)
			code = 1
		case len(left) > 0:
			fmt.Fprintf(os.Stderr, "containers/docker tests: the runtimes left %d things on the daemon:\n  %s\n", len(left), strings.Join(left, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

// newTestRuntime connects a runtime with a fresh agent id.
func newTestRuntime(t testing.TB, opts Options) *Runtime {
	t.Helper()
	requireDocker(t)
	if opts.AgentID == "" {
		opts.AgentID = "test-" + strings.ToLower(rand.Text()[:8])
	}
	testAgents.Store(opts.AgentID, true)
	if poolSwitch() && opts.Pool.Size == 0 {
		opts.Pool = PoolOptions{Size: 1, Environments: []string{"default", "minimal"}}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r, err := New(t.Context(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// task packs files (name -> content; names starting with "run" are
// executable) as a task bundle.
func task(t testing.TB, files map[string]string) containers.TaskBundle {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(filepath.Base(name), "run") {
			mode = 0o755
		}
		writeFile(t, filepath.Join(dir, name), content, mode)
	}
	b, err := bundle.Pack(dir, bundle.PackLimits{})
	if err != nil {
		t.Fatalf("Pack: %v", err)
	}
	return b
}

// writeFile writes a file of a task or course folder, and its folders.
func writeFile(t testing.TB, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

var jobSeq struct {
	sync.Mutex
	n int
}

// newJob makes a job for env "default" with small limits.
func newJob(r *Runtime, b containers.TaskBundle, input map[string]any) *containers.Job {
	jobSeq.Lock()
	jobSeq.n++
	n := jobSeq.n
	jobSeq.Unlock()
	return &containers.Job{
		AgentID: r.opts.AgentID,
		Attempt: 1,
		Desc: &messages.JobDescription{
			JobID:           fmt.Sprintf("job-%d-%s", n, strings.ToLower(rand.Text()[:6])),
			InputData:       input,
			EnvironmentType: "docker",
			Environment:     "default",
		},
		Limits: messages.Limits{Time: 10, HardTime: 30, Memory: 128, Processes: 128, Output: 1 << 20, Disk: 64},
		Task:   b,
	}
}

// runJob runs job and fails the test on an error. With INGO_TEST_POOL=1
// a job the pool is for runs in a warm container (see poolSwitch).
func runJob(t testing.TB, r *Runtime, job *containers.Job) (messages.JobResult, time.Duration) {
	t.Helper()
	if poolSwitch() && r.pool != nil && warmFor(t, r, job) {
		// Jobs of parallel subtests share a runtime and its one idle
		// container: a job may find it taken and start cold.
		before := r.PoolStats().Hits
		res, d := runJobCold(t, r, job)
		t.Logf("warm pool: hit %v", r.PoolStats().Hits > before)
		return res, d
	}
	return runJobCold(t, r, job)
}

// runJobCold runs job as it comes (no pool preparation).
func runJobCold(t testing.TB, r *Runtime, job *containers.Job) (messages.JobResult, time.Duration) {
	t.Helper()
	start := time.Now()
	res, err := r.Run(t.Context(), job, nil)
	d := time.Since(start)
	if err != nil {
		t.Fatalf("Run: %v (after %v)", err, d)
	}
	t.Logf("result after %v: %s %q grade %v", d.Round(time.Millisecond), res.Result.Status, res.Result.Text, res.Grade)
	return res, d
}

// rawClient is an SDK client for tests to make their own containers.
func rawClient(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}
