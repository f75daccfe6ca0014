package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/backend/journal"
	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// wait bounds each wait of this test; they are generous on purpose (leader
// elections, reconnects, resends) and measure nothing.
const wait = 20 * time.Second

// system is ingo on a NATS cluster: one backend with a durable R3 journal,
// one agent with the fake runtime, one client.
type system struct {
	t       *testing.T
	nats    *testutil.NATSCluster
	backend *backend.Backend
	bnc     *nats.Conn // the backend's connection

	mu      sync.Mutex
	results map[string]int // job id -> results handed to the application
	status  map[messages.Status]int
}

func connect(t *testing.T, c *testutil.NATSCluster, name string) *nats.Conn {
	t.Helper()
	nc, err := natsconn.Connect(natsconn.Options{URL: c.URLs(), Name: name,
		Log: testutil.Logger(t).With("conn", name), ReconnectWait: 50 * time.Millisecond, Creds: testutil.Superuser(t), TLS: c.TLS()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func start(t *testing.T) *system {
	t.Helper()
	s := &system{t: t, nats: testutil.StartNATSCluster(t, 3),
		results: map[string]int{}, status: map[messages.Status]int{}}

	// Backend, with its journal on a stream replicated on all three nodes.
	s.bnc = connect(t, s.nats, "backend")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	j, err := journal.Open(ctx, s.bnc, journal.Options{Replicas: 3, Log: testutil.Logger(t).With("component", "journal")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := backend.DefaultConfig()
	cfg.Journal = j
	cfg.EnvironmentGrace = time.Hour // jobs wait for the agent, whatever happens
	cfg.HeartbeatInterval = 100 * time.Millisecond
	// 5 s of silence before an agent is lost, as by default. While
	// JetStream elects a new leader for the journal, journal writes block
	// the backend's event loop for seconds; pings that wait behind them
	// must count from their arrival, and a requeue the journal refused
	// must be tried again (both once lost a job here).
	cfg.HeartbeatMisses = 50
	cfg.StartTimeout = 3 * time.Second
	cfg.MaxAttempts = 10
	cfg.ResultResend = 500 * time.Millisecond
	b, err := backend.New(s.bnc, cfg, testutil.Logger(t).With("component", "backend"))
	if err != nil {
		t.Fatal(err)
	}
	s.backend = b
	t.Cleanup(j.Close) // after Run ended (cleanups run last first)
	testutil.Run(t, "backend", b.Run)

	// Agent with the fake runtime.
	anc := connect(t, s.nats, "agent")
	rt := fake.New(fake.Options{Environments: map[string][]string{"docker": {"default"}}})
	a, err := agent.New(anc, rt, nil, agent.Config{ID: "a1", Slots: 8,
		HeartbeatInterval: 100 * time.Millisecond, ResultRetry: 500 * time.Millisecond}, testutil.Logger(t).With("agent", "a1"))
	if err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "agent", a.Run)
	return s
}

// client connects a frontend client that counts, by job id, the results
// it hands to the application.
func (s *system) client() *frontendclient.Client {
	s.t.Helper()
	nc := connect(s.t, s.nats, "client")
	cl, err := frontendclient.New(context.Background(), nc, frontendclient.Options{Name: "web", ClientID: "web",
		PingInterval: 100 * time.Millisecond, RequestTimeout: 5 * time.Second,
		Log: testutil.Logger(s.t).With("client", "web"),
		OnResult: func(m *messages.BackendJobDone) error {
			s.mu.Lock()
			s.results[m.JobID]++
			s.status[m.Result.Status]++
			s.mu.Unlock()
			return nil
		}})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := cl.WaitReady(ctx); err != nil {
		s.t.Fatal(err)
	}
	testutil.Eventually(s.t, wait, func() bool { return len(cl.Environments()["docker"]) > 0 }, "the agent's environment is not advertised")
	return cl
}

// node names node i for the log.
func (s *system) node(i int) string {
	if i < 0 {
		return "none"
	}
	return s.nats.Name(i)
}

func request(id string) frontendclient.JobRequest {
	return frontendclient.JobRequest{ClientNewJob: messages.ClientNewJob{
		JobDescription: messages.JobDescription{JobID: id, CourseID: "course", TaskID: "task",
			EnvironmentType: "docker", Environment: "default",
			InputData: map[string]any{"q1": "answer of " + id, "@fake": map[string]any{"sleep": "50ms"}}},
		Launcher: "cluster"}}
}

// submitter submits jobs one after the other until stop is closed. A
// submission without an answer (the backend is failing over) is sent again
// with the same id, which is safe. It returns the ids submitted.
func submitter(t *testing.T, cl *frontendclient.Client, name string, stop <-chan struct{}, failed *atomic.Int64) []string {
	var ids []string
	for n := 0; ; n++ {
		select {
		case <-stop:
			return ids
		case <-time.After(20 * time.Millisecond):
		}
		id := fmt.Sprintf("%s-%04d", name, n)
		deadline := time.Now().Add(wait)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
			_, err := cl.NewJob(ctx, request(id))
			cancel()
			if err == nil {
				break
			}
			var me *messages.Error
			if errors.As(err, &me) && me.Code == messages.CodeDuplicateJob {
				break // it reached the backend before
			}
			failed.Add(1)
			if time.Now().After(deadline) {
				t.Errorf("job %s: not accepted within %v: %v", id, wait, err)
				return ids
			}
			t.Logf("job %s: %v; submitting again", id, err)
		}
		ids = append(ids, id)
	}
}

// TestJobsSurviveNATSNodeDeaths submits a steady stream of jobs while NATS
// nodes die by SIGKILL: first the one the backend is connected to, which is
// restarted, then another. Every job gets exactly one result at the client.
func TestJobsSurviveNATSNodeDeaths(t *testing.T) {
	began := time.Now()
	s := start(t)
	cl := s.client()
	stream := messages.NewSubjects("").JournalStream()
	s.nats.WaitStreamCurrent(stream)
	t.Logf("cluster and ingo up after %v", time.Since(began).Round(time.Millisecond))

	stop := make(chan struct{})
	var failed atomic.Int64
	var wg sync.WaitGroup
	idsOf := make([][]string, 4)
	for w := range idsOf {
		wg.Add(1)
		go func() {
			defer wg.Done()
			idsOf[w] = submitter(t, cl, fmt.Sprintf("w%d", w), stop, &failed)
		}()
	}
	pause := func(d time.Duration) {
		select {
		case <-time.After(d):
		case <-t.Context().Done():
		}
	}

	pause(2 * time.Second)
	first := s.nats.IndexOfURL(s.bnc.ConnectedUrl())
	if first < 0 {
		first = 0
	}
	t.Logf("the backend is on %s, the journal's leader on %s", s.nats.Name(first), s.node(s.nats.StreamLeader(stream)))
	s.nats.KillNode(first)
	pause(4 * time.Second)
	s.nats.RestartNode(first)
	s.nats.WaitStreamCurrent(stream)
	pause(2 * time.Second)

	// Then another node: where the backend is now, or the journal's
	// leader, or simply the next one.
	second := -1
	for _, i := range []int{s.nats.IndexOfURL(s.bnc.ConnectedUrl()), s.nats.StreamLeader(stream), (first + 1) % 3} {
		if i >= 0 && i != first {
			second = i
			break
		}
	}
	t.Logf("the backend is on %s, the journal's leader on %s", s.node(s.nats.IndexOfURL(s.bnc.ConnectedUrl())), s.node(s.nats.StreamLeader(stream)))
	s.nats.KillNode(second)
	pause(4 * time.Second)
	close(stop)
	wg.Wait()

	var ids []string
	for _, l := range idsOf {
		ids = append(ids, l...)
	}
	if len(ids) == 0 {
		t.Fatal("no job was submitted")
	}
	// Every job gets its result, on the two nodes left.
	var missing []string
	deadline := time.Now().Add(45 * time.Second)
	for {
		missing = missing[:0]
		s.mu.Lock()
		for _, id := range ids {
			if s.results[id] == 0 {
				missing = append(missing, id)
			}
		}
		s.mu.Unlock()
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	dup := 0
	for id, n := range s.results {
		if n > 1 {
			dup++
			t.Errorf("job %s: %d results", id, n)
		}
	}
	submitted := map[string]bool{}
	for _, id := range ids {
		submitted[id] = true
	}
	for id := range s.results {
		if !submitted[id] {
			t.Errorf("result for %s, which was never submitted", id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d jobs without a result: %v", len(missing), len(ids), missing[:min(len(missing), 20)])
	}
	cs, bs := cl.Stats(), s.backend.Stats()
	t.Logf("jobs %d, with a result %d, missing %d, with several results %d; statuses %v; submissions retried %d",
		len(ids), len(s.results), len(missing), dup, s.status, failed.Load())
	t.Logf("client: duplicates dropped %d, resubmissions %d, hellos %d, no responders %d; backend: %+v",
		cs.DuplicateResults, cs.Resubmissions, cs.Hellos, cs.NoResponders, bs)
	t.Logf("run time %v", time.Since(began).Round(time.Millisecond))
}
