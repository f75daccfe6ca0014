package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/containers/docker"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

const benchImage = "ingo/env-default"

// TestDockerReport times a trivial grading job end to end (client,
// backend, agent, container, result) against a bare `docker run --rm
// --network none` of the same image, alternating the two, and prints the
// medians and their ratio. INGO_BENCH=1 runs 20 of each; otherwise 3.
func TestDockerReport(t *testing.T) {
	if err := exec.Command("docker", "image", "inspect", benchImage).Run(); err != nil {
		if os.Getenv("INGO_REQUIRE_DOCKER") != "" {
			t.Fatalf("image %s missing (make images): %v", benchImage, err)
		}
		t.Skipf("no Docker daemon or no image %s (make images): %v", benchImage, err)
	}
	rounds := 3
	if os.Getenv("INGO_BENCH") != "" {
		rounds = 20
	}
	n := testutil.StartNATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	cfg := backend.DefaultConfig()
	cfg.EnvironmentGrace = 0
	b, err := backend.New(connect(t, n.URL, "backend"), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { _ = b.Run(ctx); done <- struct{}{} }()

	anc := connect(t, n.URL, "agent")
	cache, err := bundle.OpenCache(ctx, anc, messages.NewSubjects("").TaskBundleStore(), t.TempDir(), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := docker.New(ctx, docker.Options{AgentID: "bench-docker"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(anc, rt, cache, agent.Config{ID: "bench-docker", Slots: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })

	cl, err := frontendclient.New(ctx, connect(t, n.URL, "client"), frontendclient.Options{Name: "bench"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	testutil.Eventually(t, 30*time.Second, func() bool {
		return slices.Contains(cl.Environments()["docker"], "default")
	}, "environment docker/default advertised")

	task := t.TempDir()
	if err := os.WriteFile(filepath.Join(task, "run"), []byte("#!/bin/sh\nfeedback-result success\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	grade := func(i int) time.Duration {
		start := time.Now()
		jctx, jcancel := context.WithTimeout(ctx, time.Minute)
		defer jcancel()
		j, err := cl.NewJob(jctx, frontendclient.JobRequest{TaskDir: task, ClientNewJob: messages.ClientNewJob{
			JobDescription: messages.JobDescription{JobID: fmt.Sprintf("docker-bench-%d-%d", i, time.Now().UnixNano()),
				CourseID: "bench", TaskID: "trivial", EnvironmentType: "docker", Environment: "default"}}})
		if err != nil {
			t.Fatalf("submit: %v", err)
		}
		r, err := j.Wait(jctx)
		if err != nil || r.Result.Status != messages.StatusSuccess {
			t.Fatalf("job: %v %+v", err, r)
		}
		return time.Since(start)
	}
	bare := func() time.Duration {
		start := time.Now()
		out, err := exec.Command("docker", "run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", benchImage, "-c", "true").CombinedOutput()
		if err != nil {
			t.Fatalf("docker run: %v: %s", err, out)
		}
		return time.Since(start)
	}
	grade(-1) // first job: uploads the bundle, warms the cache
	var ingo, ref []time.Duration
	for i := range rounds {
		ref = append(ref, bare())
		ingo = append(ingo, grade(i))
	}
	mi, mr := median(ingo), median(ref)
	report := fmt.Sprintf(`docker report (%d rounds, image %s)
  bare docker run --rm --network none    : median %v
  ingo trivial job, submit to result     : median %v
  ratio ingo / bare                      : %.2f
`, rounds, benchImage, mr.Round(time.Millisecond), mi.Round(time.Millisecond), float64(mi)/float64(mr))
	t.Log("\n" + report)
	fmt.Fprint(os.Stderr, report)
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// connect opens a connection closed when the test ends.
func connect(t *testing.T, url, name string) *nats.Conn {
	t.Helper()
	return connectAs(t, url, name, as(t, url, natsauth.RoleBackend, "bench"))
}

// connectAs connects as creds (nil on an open server).
func connectAs(t *testing.T, url, name string, creds *natsauth.Credentials) *nats.Conn {
	t.Helper()
	nc, err := natsconn.Connect(natsconn.Options{URL: url, Name: name, Creds: creds})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
