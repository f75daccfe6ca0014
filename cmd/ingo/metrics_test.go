package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// getClient bounds each request: a port that something else took and
// never answers on must not hang the test.
var getClient = &http.Client{Timeout: 5 * time.Second}

// get fetches url; code -1 when it cannot be reached.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := getClient.Get(url)
	if err != nil {
		return -1, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestMetrics_BackendAndAgent runs `ingo backend --embedded-nats`, a
// standby backend and `ingo agent` with --metrics-addr, and scrapes them.
func TestMetrics_BackendAndAgent(t *testing.T) {
	isolate(t)
	t.Setenv("INGO_LOG_LEVEL", "warn")
	url := "nats://" + freeAddr(t)
	// Each address is picked right before its component listens on it:
	// a port free a while earlier may be another package's by then.
	active := "http://" + freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	exits := make(chan int, 3)
	var logs []*syncBuffer // each component's log, shown if the test fails
	start := func(args ...string) {
		var out, log syncBuffer
		logs = append(logs, &log)
		go func() { exits <- run(ctx, args, &out, &log) }()
	}
	t.Cleanup(func() { // after the stop below: cleanups run last first
		if t.Failed() {
			for i, l := range logs {
				t.Logf("component %d's log:\n%s", i, l)
			}
		}
	})
	start("backend", "--embedded-nats", "--nats-url", url, "--data-dir", config.DefaultDataDir(),
		"--metrics-addr", strings.TrimPrefix(active, "http://"))
	t.Cleanup(func() {
		cancel()
		for range logs { // one exit per component started
			select {
			case code := <-exits:
				if code != exitOK {
					t.Errorf("a component exited %d after a graceful stop", code)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("a component did not stop within 20s")
				return
			}
		}
	})
	testutil.Eventually(t, 20*time.Second, func() bool {
		code, _ := get(t, active+"/readyz")
		return code == http.StatusOK
	}, "the active backend never ready")
	if code, body := get(t, active+"/readyz"); !strings.Contains(body, `"status":"ready"`) {
		t.Errorf("/readyz: %d %s", code, body)
	}
	if code, _ := get(t, active+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}

	// A second backend on the same NATS stands by.
	standby := "http://" + freeAddr(t)
	start("backend", "--nats-url", url, "--metrics-addr", strings.TrimPrefix(standby, "http://"))
	testutil.Eventually(t, 20*time.Second, func() bool {
		code, body := get(t, standby+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"status":"standby"`)
	}, "the standby backend's /readyz never said standby")
	if code, _ := get(t, standby+"/healthz"); code != http.StatusOK {
		t.Errorf("standby /healthz: %d", code)
	}

	agentAddr := "http://" + freeAddr(t)
	start("agent", "--runtime", "noop", "--nats-url", url, "--concurrency", "3", "--name", "m",
		"--cache-dir", t.TempDir(), "--metrics-addr", strings.TrimPrefix(agentAddr, "http://"))
	testutil.Eventually(t, 20*time.Second, func() bool {
		_, body := get(t, active+"/metrics")
		return strings.Contains(body, "ingo_backend_slots 3")
	}, "the backend never counted the agent's 3 slots")
	_, body := get(t, active+"/metrics")
	for _, w := range []string{"ingo_backend_active 1", `ingo_nats_connected{component="backend"} 1`,
		"ingo_backend_agents 1", "ingo_backend_jobs_submitted_total 0", "go_goroutines", `ingo_backend_jobs_finished_total{status="success"} 0`} {
		if !strings.Contains(body, w) {
			t.Errorf("backend /metrics lacks %q", w)
		}
	}
	_, body = get(t, standby+"/metrics")
	if !strings.Contains(body, "ingo_backend_active 0") {
		t.Errorf("standby /metrics lacks ingo_backend_active 0")
	}

	testutil.Eventually(t, 20*time.Second, func() bool {
		code, _ := get(t, agentAddr+"/readyz")
		return code == http.StatusOK
	}, "the agent never ready")
	_, body = get(t, agentAddr+"/metrics")
	for _, w := range []string{"ingo_agent_slots 3", `ingo_nats_connected{component="agent"} 1`, "ingo_agent_jobs_running 0"} {
		if !strings.Contains(body, w) {
			t.Errorf("agent /metrics lacks %q", w)
		}
	}
}
