package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/cmd/ingo/metrics"
	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/frontendclient"
	itest "github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

const wait = 10 * time.Second

// system is a backend and an agent (fake runtime, 2 slots) on embedded
// NATS, each with its metrics on its own registry, and a client.
type system struct {
	backendReg, agentReg *prometheus.Registry
	bm                   *metrics.Backend
	am                   *metrics.Agent
	b                    *backend.Backend
	client               *frontendclient.Client
}

func start(t *testing.T) *system {
	t.Helper()
	srv := itest.StartNATS(t)
	s := &system{backendReg: metrics.NewRegistry(), agentReg: metrics.NewRegistry()}
	var err error
	if s.bm, err = metrics.NewBackend(s.backendReg); err != nil {
		t.Fatal(err)
	}
	if s.am, err = metrics.NewAgent(s.agentReg); err != nil {
		t.Fatal(err)
	}

	bnc := itest.Connect(t, srv.URL, "backend")
	cfg := backend.DefaultConfig()
	cfg.EnvironmentGrace = 0
	cfg.HeartbeatInterval = 50 * time.Millisecond // also the gauges' period
	cfg.HeartbeatMisses = 40
	cfg.Observer = s.bm.Observer()
	if s.b, err = backend.New(bnc, cfg, itest.Logger(t).With("component", "backend")); err != nil {
		t.Fatal(err)
	}
	s.bm.Follow(s.b)
	if err := metrics.RegisterNATS(s.backendReg, "backend", bnc); err != nil {
		t.Fatal(err)
	}
	itest.Run(t, "backend", s.b.Run)

	anc := itest.Connect(t, srv.URL, "agent")
	rt := fake.New(fake.Options{Environments: map[string][]string{"docker": {"default"}}})
	a, err := agent.New(anc, rt, nil, agent.Config{ID: "a1", Slots: 2, HeartbeatInterval: 50 * time.Millisecond,
		ResultRetry: 200 * time.Millisecond, Observer: s.am.Observer()}, itest.Logger(t).With("component", "agent"))
	if err != nil {
		t.Fatal(err)
	}
	s.am.Follow(a)
	if err := metrics.RegisterNATS(s.agentReg, "agent", anc); err != nil {
		t.Fatal(err)
	}
	itest.Run(t, "agent", a.Run)

	cnc := itest.Connect(t, srv.URL, "client")
	s.client, err = frontendclient.New(context.Background(), cnc, frontendclient.Options{Name: "c", ClientID: "c",
		PingInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.client.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	itest.Eventually(t, wait, func() bool { return len(s.client.Environments()["docker"]) > 0 }, "docker/default never offered")
	return s
}

// grade submits a job that ends with status after sleep, and waits for it.
func (s *system) grade(t *testing.T, id string, status messages.Status, sleep string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	j, err := s.client.NewJob(ctx, frontendclient.JobRequest{ClientNewJob: messages.ClientNewJob{
		JobDescription: messages.JobDescription{JobID: id, CourseID: "course", TaskID: "task",
			EnvironmentType: "docker", Environment: "default",
			InputData: map[string]any{"@fake": map[string]any{"result": string(status), "sleep": sleep}}}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := j.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Result.Status != status {
		t.Fatalf("job %s: status %s, want %s", id, r.Result.Status, status)
	}
}

// sample finds one sample of a gathered metric by its labels.
func sample(t *testing.T, reg *prometheus.Registry, name string, labels ...string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return m
		}
	}
	return nil
}

// value is a counter's or gauge's value, -1 when absent.
func value(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	m := sample(t, reg, name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatalf("%s is neither a counter nor a gauge", name)
	return 0
}

// observations is a histogram's sample count, -1 when absent.
func observations(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	m := sample(t, reg, name, labels...)
	if m == nil || m.Histogram == nil {
		return -1
	}
	return float64(m.Histogram.GetSampleCount())
}

func TestBackendAndAgentMetrics(t *testing.T) {
	s := start(t)
	s.grade(t, "j1", messages.StatusSuccess, "30ms")
	s.grade(t, "j2", messages.StatusSuccess, "1ms")
	s.grade(t, "j3", messages.StatusFailed, "1ms")

	// Counters by status, from the observer: exactly what the jobs ended with.
	want := `
# HELP ingo_backend_jobs_finished_total Jobs that got their final result, by status.
# TYPE ingo_backend_jobs_finished_total counter
ingo_backend_jobs_finished_total{status="crash"} 0
ingo_backend_jobs_finished_total{status="error"} 0
ingo_backend_jobs_finished_total{status="failed"} 1
ingo_backend_jobs_finished_total{status="killed"} 0
ingo_backend_jobs_finished_total{status="overflow"} 0
ingo_backend_jobs_finished_total{status="success"} 2
ingo_backend_jobs_finished_total{status="timeout"} 0
`
	if err := testutil.CollectAndCompare(s.bm, strings.NewReader(want), "ingo_backend_jobs_finished_total"); err != nil {
		t.Error(err)
	}
	br := s.backendReg
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"ingo_backend_jobs_submitted_total", nil, 3},
		{"ingo_backend_jobs_requeued_total", nil, 0},
		{"ingo_backend_agents_lost_total", nil, 0},
		{"ingo_backend_journal_errors_total", nil, 0},
		{"ingo_backend_messages_rejected_total", []string{"reason", "malformed"}, 0},
		{"ingo_backend_active", nil, 1},
		{"ingo_nats_connected", []string{"component", "backend"}, 1},
		{"ingo_nats_reconnects_total", []string{"component", "backend"}, 0},
	} {
		if got := value(t, br, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// The client acks its results shortly after they arrive.
	itest.Eventually(t, wait, func() bool { return value(t, br, "ingo_backend_results_acked_total") == 3 },
		"results acked: %v, want 3", value(t, br, "ingo_backend_results_acked_total"))
	// Histograms: every dispatch and every run observed, by environment.
	if got := observations(t, br, "ingo_backend_job_wait_seconds", "env_type", "docker", "env", "default"); got != 3 {
		t.Errorf("wait time observations = %v, want 3", got)
	}
	if got := observations(t, br, "ingo_backend_job_run_seconds", "env_type", "docker", "env", "default", "status", "success"); got != 2 {
		t.Errorf("run time observations (success) = %v, want 2", got)
	}
	if m := sample(t, br, "ingo_backend_job_run_seconds", "status", "success"); m == nil || m.Histogram.GetSampleSum() < 0.03 {
		t.Errorf("run time sum of success too small (one job slept 30ms): %v", m)
	}
	// Gauges come from the loop's snapshot, at the next tick.
	itest.Eventually(t, wait, func() bool {
		return value(t, br, "ingo_backend_agents") == 1 && value(t, br, "ingo_backend_slots") == 2 &&
			value(t, br, "ingo_backend_free_slots") == 2 && value(t, br, "ingo_backend_jobs_running") == 0 &&
			value(t, br, "ingo_backend_queue_length", "env_type", "docker", "env", "default") == 0 &&
			value(t, br, "ingo_backend_clients") == 1
	}, "backend gauges never settled")

	ar := s.agentReg
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"ingo_agent_jobs_finished_total", []string{"status", "success"}, 2},
		{"ingo_agent_jobs_finished_total", []string{"status", "failed"}, 1},
		{"ingo_agent_jobs_finished_total", []string{"status", "crash"}, 0},
		{"ingo_agent_jobs_received_total", nil, 3},
		{"ingo_agent_slots", nil, 2},
		{"ingo_agent_jobs_running", nil, 0},
		{"ingo_agent_jobs_refused_total", []string{"reason", "overcommit"}, 0},
		{"ingo_nats_connected", []string{"component", "agent"}, 1},
	} {
		if got := value(t, ar, c.name, c.labels...); got != c.want {
			t.Errorf("agent %s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := observations(t, ar, "ingo_agent_container_start_seconds", "env_type", "docker", "env", "default"); got != 3 {
		t.Errorf("container start observations = %v, want 3", got)
	}

	// Metric names and help follow Prometheus' conventions.
	for name, reg := range map[string]*prometheus.Registry{"backend": br, "agent": ar} {
		problems, err := testutil.GatherAndLint(reg)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("%s lint: %s: %s", name, p.Metric, p.Text)
		}
	}

	// A standby follows no backend: not active, and no stale values.
	s.bm.Follow(nil)
	if got := value(t, br, "ingo_backend_active"); got != 0 {
		t.Errorf("active after Follow(nil) = %v", got)
	}
	if got := value(t, br, "ingo_backend_agents"); got != -1 {
		t.Errorf("agents after Follow(nil) = %v, want absent", got)
	}
}

func TestAPIMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	stats := metrics.APIStats{
		Requests: map[metrics.APIRoute]uint64{
			{Route: "POST /api/v1/jobs", Code: 202}:     4,
			{Route: "GET /api/v1/jobs/{id}", Code: 404}: 1,
		},
		SSEClients:    2,
		JobsSubmitted: 4,
	}
	if err := metrics.RegisterAPI(reg, func() metrics.APIStats { return stats }); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP ingo_api_job_store_bytes Approximate bytes of the jobs the API keeps.
# TYPE ingo_api_job_store_bytes gauge
ingo_api_job_store_bytes 0
# HELP ingo_api_jobs_kept Jobs the API keeps (to answer status and result requests).
# TYPE ingo_api_jobs_kept gauge
ingo_api_jobs_kept 0
# HELP ingo_api_jobs_submitted_total Jobs submitted through the HTTP API.
# TYPE ingo_api_jobs_submitted_total counter
ingo_api_jobs_submitted_total 4
# HELP ingo_api_requests_total HTTP API requests answered, by route pattern and status code.
# TYPE ingo_api_requests_total counter
ingo_api_requests_total{code="202",route="POST /api/v1/jobs"} 4
ingo_api_requests_total{code="404",route="GET /api/v1/jobs/{id}"} 1
# HELP ingo_api_sse_clients Server-sent event streams open now.
# TYPE ingo_api_sse_clients gauge
ingo_api_sse_clients 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestHandler(t *testing.T) {
	reg := metrics.NewRegistry()
	if err := metrics.RegisterAPI(reg, func() metrics.APIStats { return metrics.APIStats{JobsSubmitted: 7} }); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(metrics.Handler(reg))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, w := range []string{"ingo_api_jobs_submitted_total 7", "go_goroutines", "process_"} {
		if !strings.Contains(string(body), w) {
			t.Errorf("/metrics lacks %q", w)
		}
	}
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestBridgeMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	stats := metrics.BridgeStats{Conns: 2, Closed: map[string]uint64{"not-allowed": 5000, "write-stalled": 1}, Jobs: 3, UnfinishedBytes: 6144}
	if err := metrics.RegisterBridge(reg, func() metrics.BridgeStats { return stats }); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP ingo_inginious_connections INGInious webapp connections open now.
# TYPE ingo_inginious_connections gauge
ingo_inginious_connections 2
# HELP ingo_inginious_connections_closed_total Connections the INGInious bridge closed, by reason.
# TYPE ingo_inginious_connections_closed_total counter
ingo_inginious_connections_closed_total{reason="not-allowed"} 5000
ingo_inginious_connections_closed_total{reason="write-stalled"} 1
# HELP ingo_inginious_jobs Jobs the INGInious bridge follows now (submitted, not finished).
# TYPE ingo_inginious_jobs gauge
ingo_inginious_jobs 3
# HELP ingo_inginious_unfinished_bytes What the jobs the bridge follows count against inginious.max-unfinished-bytes.
# TYPE ingo_inginious_unfinished_bytes gauge
ingo_inginious_unfinished_bytes 6144
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestPoolMetrics: the warm pool's counts, read at scrape time.
func TestPoolMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	stats := metrics.PoolStats{Hits: 5, Misses: 1, Bypassed: 2, Made: 8, Discarded: 1, Reshaped: 1, Idle: 2}
	if err := metrics.RegisterPool(reg, func() metrics.PoolStats { return stats }); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"ingo_agent_pool_hits_total": 5, "ingo_agent_pool_misses_total": 1,
		"ingo_agent_pool_bypassed_total": 2, "ingo_agent_pool_made_total": 8, "ingo_agent_pool_discarded_total": 1,
		"ingo_agent_pool_reshaped_total": 1, "ingo_agent_pool_idle": 2} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != 1 {
			t.Errorf("%s: %d series, %v", name, n, err)
		}
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			m := mf.GetMetric()[0]
			got := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			if got != want {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
		}
	}
}
