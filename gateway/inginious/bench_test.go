package bridge

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/noop"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/messages"
)

// inginiousJobsPerSecond is INGInious' own backend on this machine kind,
// for reference (see docs/PERFORMANCE.md).
const inginiousJobsPerSecond = 3000

// TestBridgeReport measures jobs/s through the bridge (a Go DEALER client
// speaking INGInious' protocol, taskless jobs, no-op agents) next to
// ingo's own client against the same backend and agents, in the same run.
// INGO_BENCH=1 runs 5,000 jobs each; otherwise 300.
func TestBridgeReport(t *testing.T) {
	jobs := 300
	if os.Getenv("INGO_BENCH") != "" {
		jobs = 5000
	}
	if n, err := strconv.Atoi(os.Getenv("INGO_BENCH_JOBS")); err == nil && n > 0 {
		jobs = n
	}
	const inFlight = 256
	r := newRigWith(t, 8, 8, func() containers.Runtime {
		rt, err := noop.New()
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}, false)

	// ingo's own client.
	cl, err := frontendclient.New(context.Background(), r.sys.Connect("direct"), frontendclient.Options{Name: "direct"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := cl.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	direct := func(n int) time.Duration {
		start := time.Now()
		sem := make(chan struct{}, inFlight)
		var wg sync.WaitGroup
		for i := range n {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				j, err := cl.NewJob(ctx, frontendclient.JobRequest{ClientNewJob: messages.ClientNewJob{JobDescription: messages.JobDescription{
					JobID: fmt.Sprintf("direct-%d-%d", i, time.Now().UnixNano()), EnvironmentType: "docker", Environment: "default"}}})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := j.Wait(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}

	// Through the bridge.
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	c.recv()
	viaBridge := func(n int) time.Duration {
		start := time.Now()
		sent, done := 0, 0
		credit := inFlight
		for done < n {
			for credit > 0 && sent < n {
				c.send("ClientNewJob", map[string]any{
					"job_id": fmt.Sprintf("bridge-%d-%d", sent, start.UnixNano()), "priority": 0, "course_id": nil, "task_id": nil,
					"task_problems": map[string]any{}, "inputdata": map[string]any{}, "environment_type": "docker",
					"environment": "default", "environment_parameters": map[string]any{}, "debug": false, "launcher": "bench"})
				sent++
				credit--
			}
			m := c.recv("BackendJobStarted", "BackendUpdateEnvironments")
			if m["@type"] == "BackendJobDone" {
				if m["result"].([]any)[0] != "success" {
					t.Fatalf("result %v", m)
				}
				done++
				credit++
			}
		}
		return time.Since(start)
	}
	direct(min(jobs, 200)) // warm up both paths
	viaBridge(min(jobs, 200))
	d := direct(jobs)
	b := viaBridge(jobs)
	rate := func(d time.Duration) float64 { return float64(jobs) / d.Seconds() }
	report := fmt.Sprintf(`bridge report (%d jobs each, %d in flight, 8 no-op agents x 8 slots)
  ingo's own client (frontendclient)    : %6.0f jobs/s
  INGInious protocol through the bridge : %6.0f jobs/s (%.2f of ingo's client)
  INGInious' own backend, for reference : ~%d jobs/s (docs/PERFORMANCE.md)
`, jobs, inFlight, rate(d), rate(b), rate(b)/rate(d), inginiousJobsPerSecond)
	t.Log("\n" + report)
	fmt.Fprint(os.Stderr, report)
}
