package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/backend/journal"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// startBackendOn runs a backend connected to node i only, on the shared
// journal, as a standby that took over would, and returns its stop.
func startBackendOn(t *testing.T, c *testutil.NATSCluster, i int, name string) (stop func()) {
	t.Helper()
	nc := c.ConnectAs(c.URL(i), name, testutil.Superuser(t))
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	j, err := journal.Open(ctx, nc, journal.Options{Replicas: 3, Log: testutil.Logger(t).With("component", name+"-journal")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := backend.DefaultConfig()
	cfg.Journal = j
	cfg.EnvironmentGrace = time.Hour // no agent: jobs wait
	serving := make(chan struct{})
	cfg.Serving = func() { close(serving) }
	b, err := backend.New(nc, cfg, testutil.Logger(t).With("component", name))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(runCtx) }()
	select {
	case <-serving:
	case err := <-done:
		t.Fatalf("%s: %v", name, err)
	case <-time.After(wait):
		t.Fatalf("%s does not serve", name)
	}
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		stopRun()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
		j.Close()
	}
	t.Cleanup(stop)
	return stop
}

// TestSubmissionDuringSecondFailover: the HTTP API, a long-running client
// on its own NATS node, goes through two failovers of the backend (each
// to a backend on another node that does not know the client). A job
// submitted during the second is queued as soon as the new backend
// serves. Before, the pings bounced during the first failover made every
// later ping answer count for a ping sent up to RequestTimeout earlier:
// the job was resent only about RequestTimeout after it was submitted,
// and the API answered 504 (4 of 8 failovers on a three-host deployment).
func TestSubmissionDuringSecondFailover(t *testing.T) {
	c := testutil.StartNATSCluster(t, 3)
	const requestTimeout = 4 * time.Second
	stopA := startBackendOn(t, c, 0, "backend-a")

	nc := c.ConnectAs(c.URL(2), "api", testutil.Superuser(t))
	t.Cleanup(nc.Close)
	cl, err := frontendclient.New(context.Background(), nc, frontendclient.Options{Name: "api", ClientID: "api", Admin: true,
		PingInterval: 50 * time.Millisecond, RequestTimeout: requestTimeout,
		Log: testutil.Logger(t).With("client", "api")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := cl.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	// The first failover: no backend for longer than RequestTimeout.
	stopA()
	time.Sleep(requestTimeout + 500*time.Millisecond)
	stopB := startBackendOn(t, c, 1, "backend-b")
	if _, err := cl.NewJob(ctx, request("after-first")); err != nil {
		t.Fatalf("after the first failover: %v", err)
	}

	// The second, with a submission while no backend serves. It is given
	// half of RequestTimeout: far more than the new backend takes to
	// serve, far less than the lag the first failover left.
	stopB()
	began := time.Now()
	result := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout/2)
		defer cancel()
		_, err := cl.NewJob(ctx, request("during-second"))
		result <- err
	}()
	time.Sleep(300 * time.Millisecond)
	startBackendOn(t, c, 0, "backend-c")
	t.Logf("backend-c serves %v after the submission", time.Since(began).Round(time.Millisecond))
	if err := <-result; err != nil {
		t.Fatalf("submitted during the second failover: %v (after %v)", err, time.Since(began).Round(time.Millisecond))
	}
	t.Logf("queued %v after the submission", time.Since(began).Round(time.Millisecond))
	if s := cl.Stats(); s.NoResponders == 0 {
		t.Errorf("no submission or ping bounced: the failovers left no gap (%+v)", s)
	}
}
