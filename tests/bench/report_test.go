package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/backend/journal"
	"github.com/ingo-grader/ingo/containers/noop"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// params of one report; INGO_BENCH=1 gives the figures of PERFORMANCE.md.
type params struct {
	jobs, agents, slots, inFlight int
	pacedRate                     int // jobs/s for the latency run
	pacedFor                      time.Duration
	jsOps                         int // jobs of journal work, one at a time
}

func loadParams() params {
	if os.Getenv("INGO_BENCH") == "" {
		return params{jobs: 500, agents: 4, slots: 4, inFlight: 64, pacedRate: 200, pacedFor: 500 * time.Millisecond, jsOps: 100}
	}
	p := params{jobs: 20000, agents: 16, slots: 4, inFlight: 1024, pacedRate: 200, pacedFor: 10 * time.Second, jsOps: 5000}
	if n, err := strconv.Atoi(os.Getenv("INGO_BENCH_JOBS")); err == nil && n > 0 {
		p.jobs = n
	}
	return p
}

func TestPipelineReport(t *testing.T) {
	p := loadParams()
	req := sampleJob("sample")
	wireReq, _ := messages.Encode(&req.ClientNewJob)
	wireRes, _ := messages.Encode(&messages.BackendJobDone{JobID: req.JobID, JobResult: messages.JobResult{
		Result: messages.Result{Status: messages.StatusSuccess, Text: "noop"}, Grade: 100}})

	// References and the in-memory backend on one server; raw JetStream
	// and the durable backend each on a server of its own, so that none
	// sees another's subjects or leftovers.
	n := testutil.StartNATS(t)
	cpu0 := cpuTime()
	rawRate := rawThroughput(t, n.URL, wireReq, wireRes, p.jobs, p.inFlight)
	rawCPU := (cpuTime() - cpu0) / time.Duration(p.jobs)
	rawLat := rawPaced(t, n.URL, wireReq, wireRes, p.pacedRate, p.pacedFor)
	off := measurePipeline(t, n.URL, p, false)
	// The same without authentication, on a server that admits anybody:
	// the cost of identities and permissions, in the same run.
	open := startOpenNATS(t)
	openRaw := rawThroughput(t, open, wireReq, wireRes, p.jobs, p.inFlight)
	openOff := measurePipeline(t, open, p, false)

	nd := testutil.StartNATS(t)
	pubRate, pubCPU, _ := rawJetStream(t, nd.URL, "one", wireReq, p.jsOps*4, 1, 1, false)
	manyRate, _, _ := rawJetStream(t, nd.URL, "many", wireReq, p.jobs, p.inFlight, 1, false)
	jobRate, jobCPU, purgeWall := rawJetStream(t, nd.URL, "job", wireReq, p.jsOps, 1, 4, true)
	// A server of its own again: nats-server removes a deleted stream's
	// folders after the delete answered, and once took the account's
	// folder from under the journal's stream being made (a CI run failed
	// with "could not create storage directory").
	on := measurePipeline(t, testutil.StartNATS(t).URL, p, true)

	us := func(d time.Duration) time.Duration { return d.Round(100 * time.Nanosecond) }
	report := fmt.Sprintf(`ingo pipeline report (%d jobs, %d agents x %d slots, %d in flight)
  raw NATS request/reply, same payloads : %9.0f round trips/s   CPU %v per round trip
  ingo, durable off (memory only)       : %9.0f jobs/s          CPU %v per job (%.2f of raw NATS)
  without authentication (anybody may connect: the reference for the cost of identities):
    raw NATS request/reply              : %9.0f round trips/s   (auth on: %.2f of it)
    ingo, durable off                   : %9.0f jobs/s          (auth on: %.2f of it)
  raw JetStream (file stream, a subject per job, sync publish = wait for the ack):
    publish, 1 at a time                : %9.0f publishes/s     CPU %v, %v wall each
    publish, %5d at once              : %9.0f publishes/s
    a job's journal work, 1 at a time   : %9.0f jobs/s          CPU %v per job, purge %v wall
      (4 publishes: queued, assigned, started, finished; then purge the subject)
  ingo, durable on (journal)            : %9.0f jobs/s          CPU %v per job (%.2f of durable off)
  paced at %d/s for %v, submit to result:
    raw NATS     p50 %-9v p99 %v
    durable off  p50 %-9v p99 %v
    durable on   p50 %-9v p99 %v
`, p.jobs, p.agents, p.slots, p.inFlight,
		rawRate, us(rawCPU),
		off.rate, us(off.cpu), off.rate/rawRate,
		openRaw, rawRate/openRaw, openOff.rate, off.rate/openOff.rate,
		pubRate, us(pubCPU), us(time.Duration(float64(time.Second)/pubRate)),
		p.inFlight, manyRate,
		jobRate, us(jobCPU), us(purgeWall),
		on.rate, us(on.cpu), on.rate/off.rate,
		p.pacedRate, p.pacedFor, rawLat.p50, rawLat.p99, off.lat.p50, off.lat.p99, on.lat.p50, on.lat.p99)
	t.Log("\n" + report)
	fmt.Fprint(os.Stderr, report)
}

// pipelineRun is what measurePipeline found.
type pipelineRun struct {
	rate float64       // jobs/s, closed loop
	cpu  time.Duration // CPU of the whole process per job
	lat  latencies     // paced
}

// measurePipeline starts a system on url, with the durable journal or
// without, measures its throughput and paced latency, checks that every
// job succeeded once and nothing went wrong, and stops it.
func measurePipeline(t *testing.T, url string, p params, durable bool) pipelineRun {
	t.Helper()
	sys := startSystem(t, url, p, durable)
	defer sys.stop()
	cpu0 := cpuTime()
	var r pipelineRun
	r.rate = pipelineThroughput(t, sys.client, p.jobs, p.inFlight)
	r.cpu = (cpuTime() - cpu0) / time.Duration(p.jobs)
	r.lat = pipelinePaced(t, sys.client, p.pacedRate, p.pacedFor)
	if s := sys.backend.Stats(); s.Malformed+s.Unexpected+s.StaleAttempts+s.JournalErrors != 0 {
		t.Fatalf("backend (durable %v) saw errors: %+v", durable, s)
	}
	if sys.journal != nil {
		// Every result was acknowledged: the journal forgets every job.
		testutil.Eventually(t, time.Minute, func() bool {
			n, err := sys.journal.Records(context.Background())
			return err == nil && n == 0
		}, "the journal still holds records of delivered jobs")
	}
	return r
}

// rawJetStream measures JetStream the way the journal uses it, on a file
// stream with one subject per job: each of n ops, from inFlight workers,
// publishes perJob messages of payload to a new job's subject, each waiting
// for its ack, then purges the subject when purge is set. It returns ops/s,
// the process's CPU per op and the mean wall time of a purge.
func rawJetStream(t *testing.T, url, name string, payload []byte, n, inFlight, perJob int, purge bool) (float64, time.Duration, time.Duration) {
	t.Helper()
	nc := connect(t, url, "bench-js-"+name)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	name = "BENCH_" + strings.ToUpper(name)
	prefix := "ingo.bench." + strings.ToLower(name) + "." // under the prefix: the connection may use it
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{prefix + ">"},
		Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = js.DeleteStream(ctx, name) }()
	var seq, purgeNanos atomic.Int64
	cpu0 := cpuTime()
	rate := closedLoop(n, inFlight, func() {
		subj := prefix + strconv.FormatInt(seq.Add(1), 10)
		for range perJob {
			if _, err := js.Publish(ctx, subj, payload, jetstream.WithExpectStream(name)); err != nil {
				t.Errorf("JetStream publish: %v", err)
			}
		}
		if purge {
			start := time.Now()
			if err := s.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
				t.Errorf("JetStream purge: %v", err)
			}
			purgeNanos.Add(int64(time.Since(start)))
		}
	})
	return rate, (cpuTime() - cpu0) / time.Duration(n), time.Duration(purgeNanos.Load() / int64(n))
}

type system struct {
	backend *backend.Backend
	client  *frontendclient.Client
	journal *journal.Journal // nil: durable off
	stop    func()
}

func startSystem(t *testing.T, url string, p params, durable bool) *system {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var conns []*nats.Conn
	sys := &system{}
	var once sync.Once
	sys.stop = func() {
		once.Do(func() {
			if sys.client != nil {
				sys.client.Close()
			}
			cancel()
			wg.Wait()
			if sys.journal != nil {
				sys.journal.Close()
			}
			for _, nc := range conns {
				nc.Close()
			}
		})
	}
	t.Cleanup(sys.stop)
	conn := func(name string, role natsauth.Role, id string) *nats.Conn {
		nc := connectAs(t, url, name, as(t, url, role, id))
		conns = append(conns, nc)
		return nc
	}
	cfg := backend.DefaultConfig()
	cfg.EnvironmentGrace = 0
	bnc := conn("backend", natsauth.RoleBackend, "backend")
	if durable {
		j, err := journal.Open(ctx, bnc, journal.Options{})
		if err != nil {
			t.Fatal(err)
		}
		sys.journal = j
		cfg.Journal = j
	}
	b, err := backend.New(bnc, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	sys.backend = b
	wg.Go(func() { _ = b.Run(ctx) })
	for i := range p.agents {
		rt, err := noop.New()
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("agent%02d", i)
		a, err := agent.New(conn(id, natsauth.RoleAgent, id), rt, nil, agent.Config{ID: id, Slots: p.slots}, nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { _ = a.Run(ctx) })
	}
	cl, err := frontendclient.New(ctx, conn("client", natsauth.RoleFrontend, "bench"),
		frontendclient.Options{Name: "bench", ClientID: "bench", RequestTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	sys.client = cl
	if err := cl.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		q, err := cl.Queue(ctx)
		return err == nil && len(q.Agents) == p.agents
	}, "agents registered")
	return sys
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
		if _, err := nc.Request(rawSubject, req, time.Minute); err != nil {
			t.Errorf("raw request: %v", err)
		}
	})
}

// rawResponder answers bench.raw with res, on its own connection, and
// returns a connection for requests.
func rawResponder(t *testing.T, url string, res []byte) *nats.Conn {
	t.Helper()
	srv := connect(t, url, "raw-responder")
	if _, err := srv.Subscribe(rawSubject, func(m *nats.Msg) { _ = m.Respond(res) }); err != nil {
		t.Fatal(err)
	}
	_ = srv.Flush()
	nc, err := nats.Connect(url, natsOptions(as(t, url, natsauth.RoleBackend, "raw"))...)
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
		if _, err := nc.Request(rawSubject, req, time.Minute); err != nil {
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
