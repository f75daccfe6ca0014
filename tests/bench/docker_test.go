package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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
// backend, agent, container, result), started cold and through the warm
// pool, against a bare `docker run --rm --network none` of the same
// image, alternating the three, and prints the medians and their ratios
// to the bare run. INGO_BENCH=1 runs 20 of each; otherwise 3.
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
	// The bundle store, as `ingo backend` makes it on start.
	if _, err := bundle.EnsureStore(ctx, connect(t, n.URL, "bundle-store"), "", bundle.StoreConfig{}); err != nil {
		t.Fatal(err)
	}
	cache, err := bundle.OpenCache(anc, "", t.TempDir(), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	// The warm pool as `ingo agent` has it: one container of "default"
	// waiting, made for the limits of a job that sets none.
	acfg := agent.Config{ID: "bench-docker", Slots: 1}
	rt, err := docker.New(ctx, docker.Options{AgentID: "bench-docker", Pool: docker.PoolOptions{
		Size: 1, Environments: []string{"default"}, Limits: acfg.JobLimits(messages.Limits{}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	a, err := agent.New(anc, rt, cache, acfg, nil)
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
	// A cold job asks for 255 MiB instead of the default 256: the pool is
	// not for it, and it starts its container as an agent without a pool
	// does.
	grade := func(i int, cold bool) time.Duration {
		var limits messages.Limits
		if cold {
			limits.Memory = 255
		}
		start := time.Now()
		jctx, jcancel := context.WithTimeout(ctx, time.Minute)
		defer jcancel()
		j, err := cl.NewJob(jctx, frontendclient.JobRequest{TaskDir: task, ClientNewJob: messages.ClientNewJob{
			JobDescription: messages.JobDescription{JobID: fmt.Sprintf("docker-bench-%d-%d", i, time.Now().UnixNano()),
				CourseID: "bench", TaskID: "trivial", EnvironmentType: "docker", Environment: "default",
				EnvironmentParameters: messages.EnvironmentParameters{Limits: limits}}}})
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
	// Every measure starts once the pool is full again, as jobs spaced
	// a little apart find it in production, and the last job's container
	// is removed (the runtime does that after the result): nothing of
	// ours runs during a measure, the bare run's included.
	refilled := func() time.Duration {
		start := time.Now()
		testutil.Eventually(t, time.Minute, func() bool {
			if rt.PoolStats().Idle < 1 {
				return false
			}
			out, err := exec.Command("docker", "ps", "-aq", "--filter", "label="+docker.LabelAgent+"=bench-docker").Output()
			return err == nil && len(strings.Fields(string(out))) == 1
		}, "warm pool refilled, last container removed")
		return time.Since(start)
	}
	grade(-1, true) // first job: uploads the bundle, warms the cache
	var cold, warm, ref, refill []time.Duration
	before := rt.PoolStats()
	for i := range rounds {
		refilled()
		ref = append(ref, bare())
		refilled()
		cold = append(cold, grade(i, true))
		refilled()
		warm = append(warm, grade(i, false))
		refill = append(refill, refilled())
	}
	after := rt.PoolStats()
	if hits := after.Hits - before.Hits; hits != uint64(rounds) {
		t.Errorf("%d of %d warm jobs ran in a warm container (stats %+v)", hits, rounds, after)
	}
	// The cold jobs never come three in a row (the first two at most):
	// the pool, which follows the limits jobs ask, stays the warm ones'.
	if after.Reshaped != before.Reshaped {
		t.Errorf("the pool was remade for the cold jobs' limits (stats %+v)", after)
	}
	mc, mw, mr := median(cold), median(warm), median(ref)
	report := fmt.Sprintf(`docker report (%d rounds, image %s)
  bare docker run --rm --network none    : median %v
  ingo trivial job, pool off (cold start): median %v  ratio to bare %.2f
  ingo trivial job, warm pool            : median %v  ratio to bare %.2f
  (each measure starts with the pool full; its refill after a warm job took a median %v)
`, rounds, benchImage, mr.Round(time.Millisecond), mc.Round(time.Millisecond), float64(mc)/float64(mr),
		mw.Round(time.Millisecond), float64(mw)/float64(mr), median(refill).Round(time.Millisecond))
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
	return connectWith(t, natsconn.Options{URL: url, Name: name, Creds: creds})
}

// connectWith is connectAs with every option.
func connectWith(t *testing.T, o natsconn.Options) *nats.Conn {
	t.Helper()
	nc, err := natsconn.Connect(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
