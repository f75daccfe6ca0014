package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/containers/noop"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// params of one report; INGO_BENCH=1 gives the figures of PERFORMANCE.md.
type params struct {
	jobs, agents, slots, inFlight int
	pacedRate                     int // jobs/s for the latency run
	pacedFor                      time.Duration
}

func loadParams() params {
	if os.Getenv("INGO_BENCH") == "" {
		return params{jobs: 500, agents: 4, slots: 4, inFlight: 64, pacedRate: 200, pacedFor: 500 * time.Millisecond}
	}
	p := params{jobs: 20000, agents: 16, slots: 4, inFlight: 1024, pacedRate: 200, pacedFor: 10 * time.Second}
	if n, err := strconv.Atoi(os.Getenv("INGO_BENCH_JOBS")); err == nil && n > 0 {
		p.jobs = n
	}
	return p
}

func TestPipelineReport(t *testing.T) {
	p := loadParams()
	n := testutil.StartNATS(t)
	sys := startSystem(t, n.URL, p)

	req := sampleJob("sample")
	wireReq, _ := messages.Encode(&req.ClientNewJob)
	wireRes, _ := messages.Encode(&messages.BackendJobDone{JobID: req.JobID, JobResult: messages.JobResult{
		Result: messages.Result{Status: messages.StatusSuccess, Text: "noop"}, Grade: 100}})

	cpu0 := cpuTime()
	rawRate := rawThroughput(t, n.URL, wireReq, wireRes, p.jobs, p.inFlight)
	cpu1 := cpuTime()
	pipeRate := pipelineThroughput(t, sys.client, p.jobs, p.inFlight)
	cpu2 := cpuTime()
	rawCPU, pipeCPU := (cpu1-cpu0)/time.Duration(p.jobs), (cpu2-cpu1)/time.Duration(p.jobs)
	rawLat := rawPaced(t, n.URL, wireReq, wireRes, p.pacedRate, p.pacedFor)
	pipeLat := pipelinePaced(t, sys.client, p.pacedRate, p.pacedFor)

	report := fmt.Sprintf(`ingo pipeline report (%d jobs, %d agents x %d slots, %d in flight)
  raw NATS request/reply, same payloads : %9.0f round trips/s   CPU %v per round trip
  ingo client->backend->agent->client   : %9.0f jobs/s          CPU %v per job (%.2f of raw NATS)
  paced at %d/s for %v, submit to result:
    raw NATS  p50 %-9v p99 %v
    ingo      p50 %-9v p99 %v
`, p.jobs, p.agents, p.slots, p.inFlight, rawRate, rawCPU.Round(100*time.Nanosecond),
		pipeRate, pipeCPU.Round(100*time.Nanosecond), pipeRate/rawRate,
		p.pacedRate, p.pacedFor, rawLat.p50, rawLat.p99, pipeLat.p50, pipeLat.p99)
	t.Log("\n" + report)
	fmt.Fprint(os.Stderr, report)
	if s := sys.backend.Stats(); s.Malformed+s.Unexpected+s.StaleAttempts != 0 {
		t.Fatalf("backend saw errors: %+v", s)
	}
}

type system struct {
	backend *backend.Backend
	client  *frontendclient.Client
}

func startSystem(t *testing.T, url string, p params) *system {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	conn := func(name string) *nats.Conn { return connect(t, url, name) }
	cfg := backend.DefaultConfig()
	cfg.EnvironmentGrace = 0
	b, err := backend.New(conn("backend"), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { _ = b.Run(ctx) })
	for i := range p.agents {
		rt, err := noop.New()
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("agent%02d", i)
		a, err := agent.New(conn(id), rt, nil, agent.Config{ID: id, Slots: p.slots}, nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { _ = a.Run(ctx) })
	}
	cl, err := frontendclient.New(ctx, conn("client"), frontendclient.Options{Name: "bench", RequestTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	if err := cl.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		q, err := cl.Queue(ctx)
		return err == nil && len(q.Agents) == p.agents
	}, "agents registered")
	return &system{backend: b, client: cl}
}

var jobCounter atomic.Int64

func sampleJob(id string) frontendclient.JobRequest {
	return frontendclient.JobRequest{ClientNewJob: messages.ClientNewJob{
		JobDescription: messages.JobDescription{JobID: id, CourseID: "course", TaskID: "task",
			EnvironmentType: "docker", Environment: "default",
			InputData:             map[string]any{"q1": "print('hello')", "@lang": "en", "@username": "student"},
			EnvironmentParameters: messages.EnvironmentParameters{Limits: messages.Limits{Time: 10, Memory: 256}}},
		Launcher: "bench"}}
}

// runOne submits a job and waits for its result; it returns the latency.
func runOne(t *testing.T, cl *frontendclient.Client) time.Duration {
	start := time.Now()
	id := fmt.Sprintf("bench-%d", jobCounter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	j, err := cl.NewJob(ctx, sampleJob(id))
	if err != nil {
		t.Errorf("submit: %v", err)
		return 0
	}
	r, err := j.Wait(ctx)
	if err != nil || r.Result.Status != messages.StatusSuccess {
		t.Errorf("job %s: %v %+v", id, err, r)
	}
	return time.Since(start)
}

func pipelineThroughput(t *testing.T, cl *frontendclient.Client, jobs, inFlight int) float64 {
	return closedLoop(jobs, inFlight, func() { runOne(t, cl) })
}

func rawThroughput(t *testing.T, url string, req, res []byte, jobs, inFlight int) float64 {
	nc := rawResponder(t, url, res)
	return closedLoop(jobs, inFlight, func() {
		if _, err := nc.Request("bench.raw", req, time.Minute); err != nil {
			t.Errorf("raw request: %v", err)
		}
	})
}

// rawResponder answers bench.raw with res, on its own connection, and
// returns a connection for requests.
func rawResponder(t *testing.T, url string, res []byte) *nats.Conn {
	t.Helper()
	srv, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if _, err := srv.Subscribe("bench.raw", func(m *nats.Msg) { _ = m.Respond(res) }); err != nil {
		t.Fatal(err)
	}
	_ = srv.Flush()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// closedLoop runs op jobs times with inFlight workers; it returns ops/s.
func closedLoop(jobs, inFlight int, op func()) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range inFlight {
		wg.Go(func() {
			for next.Add(1) <= int64(jobs) {
				op()
			}
		})
	}
	wg.Wait()
	return float64(jobs) / time.Since(start).Seconds()
}

type latencies struct{ p50, p99 time.Duration }

// paced starts op at rate per second for d, and returns its percentiles.
func paced(rate int, d time.Duration, op func() time.Duration) latencies {
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); {
		<-tick.C
		wg.Go(func() {
			l := op()
			mu.Lock()
			lat = append(lat, l)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(time.Microsecond) }
	return latencies{p50: pct(0.50), p99: pct(0.99)}
}

func pipelinePaced(t *testing.T, cl *frontendclient.Client, rate int, d time.Duration) latencies {
	return paced(rate, d, func() time.Duration { return runOne(t, cl) })
}

func rawPaced(t *testing.T, url string, req, res []byte, rate int, d time.Duration) latencies {
	nc := rawResponder(t, url, res)
	return paced(rate, d, func() time.Duration {
		start := time.Now()
		if _, err := nc.Request("bench.raw", req, time.Minute); err != nil {
			t.Errorf("raw: %v", err)
		}
		return time.Since(start)
	})
}

// cpuTime is the CPU time (user + system) the whole process used so far:
// every component runs in this process, so it is the cost of the system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
