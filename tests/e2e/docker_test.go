package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/containers/docker"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

const gradingImage = "ingo/env-default"

// dockerAgent starts an in-process agent with the real Docker runtime.
func (c *cluster) dockerAgent(id string, slots int) *agent.Agent {
	return c.dockerAgentWith(id, slots, docker.Options{AgentID: id})
}

// dockerAgentWith is dockerAgent with runtime options.
func (c *cluster) dockerAgentWith(id string, slots int, opts docker.Options) *agent.Agent {
	c.t.Helper()
	testutil.RequireImage(c.t, gradingImage)
	nc := c.connect("agent-"+id, c.nats.URL)
	cache, err := bundle.OpenCache(nc, "", c.t.TempDir(), 64<<20)
	if err != nil {
		c.t.Fatal(err)
	}
	rt, err := docker.New(context.Background(), opts)
	if err != nil {
		c.t.Fatal(err)
	}
	a, err := agent.New(nc, rt, cache, agent.Config{ID: id, Slots: slots, HeartbeatInterval: 100 * time.Millisecond}, testutil.Logger(c.t))
	if err != nil {
		c.t.Fatal(err)
	}
	c.run("docker agent "+id, a.Run)
	return a
}

// taskDir writes a task folder with the given run file.
func taskDir(t *testing.T, run string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte(run), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDockerEightJobsOnFourSlots runs eight real grading jobs on a 4-slot
// agent: all finish correctly, and the run files' own clocks show that no
// more than four ever ran at once.
func TestDockerEightJobsOnFourSlots(t *testing.T) {
	c := newCluster(t)
	c.dockerAgent("four", 4)
	cl := c.client("web")
	waitEnvironments(t, cl, "docker/default")
	task := taskDir(t, `#!/bin/sh
feedback-custom start "$(date +%s%N)"
sleep 1
feedback-custom end "$(date +%s%N)"
feedback-result success
feedback-msg -m "job $(getinput n)"
`)
	var jobs []*frontendclient.Job
	for i := range 8 {
		req := job(fmt.Sprintf("slot-%d", i), "docker/default", 0, nil)
		req.InputData = map[string]any{"n": strconv.Itoa(i)}
		req.TaskDir = task
		jobs = append(jobs, submit(t, cl, req))
	}
	type edge struct {
		at    int64
		delta int
	}
	var edges []edge
	for i, j := range jobs {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		r, err := j.Wait(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if r.Result.Status != messages.StatusSuccess || r.Result.Text != fmt.Sprintf("job %d", i) {
			t.Fatalf("job %d: %+v", i, r.JobResult)
		}
		start, end := nanos(r.Custom["start"]), nanos(r.Custom["end"])
		if start == 0 || end <= start {
			t.Fatalf("job %d: times %v %v", i, r.Custom["start"], r.Custom["end"])
		}
		edges = append(edges, edge{start, +1}, edge{end, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return a.delta - b.delta // an end before a start at the same instant
	})
	running, most := 0, 0
	for _, e := range edges {
		running += e.delta
		most = max(most, running)
	}
	t.Logf("at most %d run files ran at once", most)
	if most > 4 || most < 2 {
		t.Fatalf("%d run files overlapped on a 4-slot agent", most)
	}
}

// nanos reads a clock value the run file stored with feedback-custom,
// which keeps numbers as numbers (INGInious does the same).
func nanos(v any) int64 {
	switch v := v.(type) {
	case float64:
		return int64(v)
	case int64:
		return v
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}
