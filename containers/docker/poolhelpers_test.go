package docker

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// poolEnv turns the warm pool on in every test runtime made with a zero
// Pool, and makes runJob run eligible jobs through it (INGO_TEST_POOL=1
// go test ./containers/docker): the package's suite with the pool on.
const poolEnv = "INGO_TEST_POOL"

func poolSwitch() bool { return os.Getenv(poolEnv) == "1" }

// idleWait bounds the wait for the pool to make a container.
const idleWait = 60 * time.Second

// newPoolRuntime is a test runtime whose pool keeps one container of env
// for limits l, owned as newJob's jobs are (no installation or session).
func newPoolRuntime(t testing.TB, opts Options, env string, l messages.Limits) *Runtime {
	t.Helper()
	opts.Pool = PoolOptions{Size: 1, Environments: []string{env}, Limits: l}
	r := newTestRuntime(t, opts)
	r.pool.setOwner(owner{})
	return r
}

// waitIdle waits until the pool has an idle container and returns its
// id.
func waitIdle(t testing.TB, r *Runtime) string {
	t.Helper()
	return waitIdleOf(t, r, "")
}

// waitIdleOf waits until the pool has an idle container of image (""
// any) and returns its id.
func waitIdleOf(t testing.TB, r *Runtime, image string) string {
	t.Helper()
	deadline := time.Now().Add(idleWait)
	for time.Now().Before(deadline) {
		r.pool.mu.Lock()
		var id string
		for _, w := range r.pool.idle {
			if !w.dead && (image == "" || w.image == image) {
				id = w.c.id
			}
		}
		r.pool.mu.Unlock()
		if id != "" {
			return id
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no idle warm container after %v (stats %+v)", idleWait, r.PoolStats())
	return ""
}

// warmFor readies r's pool for job (its limits and owner) and waits for
// an idle container of its image, so that Run takes it; false when job
// is not for the pool (it then starts cold).
func warmFor(t testing.TB, r *Runtime, job *containers.Job) bool {
	t.Helper()
	a, err := r.plan(t.Context(), job, nil)
	if err != nil || !eligible(a) {
		return false
	}
	pooled := false
	for _, env := range r.pool.envs {
		if img, err := r.image(t.Context(), env); err == nil && img == a.image {
			pooled = true
		}
	}
	if !pooled {
		return false
	}
	r.pool.setOwner(owner{job.Installation, job.Session})
	r.pool.setShape(job.Limits)
	waitIdleOf(t, r, a.image)
	return true
}

// runPooled runs job through r's pool (made ready for it) and fails the
// test unless a warm container ran it.
func runPooled(t testing.TB, r *Runtime, job *containers.Job) messages.JobResult {
	t.Helper()
	if !warmFor(t, r, job) {
		t.Fatalf("job %s is not for the pool", job.ID())
	}
	return runWarm(t, r, job)
}

// runWarm runs job, which a warm container must take.
func runWarm(t testing.TB, r *Runtime, job *containers.Job) messages.JobResult {
	t.Helper()
	before := r.PoolStats().Hits
	res, _ := runJobCold(t, r, job)
	if r.PoolStats().Hits != before+1 {
		t.Fatalf("the job did not run in a warm container (stats %+v)", r.PoolStats())
	}
	return res
}

// poolContainers lists the warm containers of agent id (running or not).
func poolContainers(t testing.TB, agentID string) []container.Summary {
	t.Helper()
	list, err := rawClient(t).ContainerList(context.Background(), container.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("label", LabelPool), filters.Arg("label", LabelAgent+"="+agentID)),
	})
	if err != nil {
		t.Fatalf("ContainerList: %v", err)
	}
	return list
}

// buildEnv builds an environment named name from ingo/env-minimal with
// the Dockerfile lines extra, removed when the test ends; it returns the
// image id. The name label comes first: the legacy builder lists each
// step's image, which then names this environment, never "minimal".
func buildEnv(t testing.TB, name string, extra ...string) string {
	t.Helper()
	tag := "ingo/test-" + name
	df := "FROM ingo/env-minimal\nLABEL org.inginious.grading.name=" + name + " org.inginious.grading.advertise=false\n" + strings.Join(extra, "\n") + "\n"
	build := exec.CommandContext(t.Context(), "docker", "build", "-q", "-t", tag, "-")
	build.Stdin = strings.NewReader(df)
	var stderr strings.Builder
	build.Stderr = &stderr
	out, err := build.Output()
	if err != nil {
		t.Fatalf("docker build: %v\n%s", err, stderr.String())
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag, id).Run() })
	return id
}

// privateEnv builds an environment of its own for a test, the image of
// ingo/env-minimal under another name: images other tests build meanwhile
// cannot change it.
func privateEnv(t testing.TB) string {
	t.Helper()
	name := "ingo-test-pool-" + strings.ToLower(rand.Text()[:6])
	buildEnv(t, name)
	return name
}

// entrypoint is a Dockerfile ENTRYPOINT line.
func entrypoint(args ...string) string {
	b, _ := json.Marshal(args)
	return "ENTRYPOINT " + string(b)
}
