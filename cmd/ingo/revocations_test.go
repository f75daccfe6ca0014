package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestRevoke_EmbeddedServerTakesItRunning: `ingo creds --revoke` of a
// credential connected to a running `ingo backend --embedded-nats` cuts
// it off within seconds, and it cannot come back. Before, the embedded
// server took a revocation only at the backend's next start: a
// compromised agent went on grading, and a stolen frontend credential
// went on submitting and reading results, until an operator restarted it.
func TestRevoke_EmbeddedServerTakesItRunning(t *testing.T) {
	isolate(t)
	t.Setenv("INGO_LOG_LEVEL", "info")
	url := "nats://" + freeAddr(t)
	dir := config.DefaultDataDir()
	ctx, cancel := context.WithCancel(t.Context())
	var out, log syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"backend", "--embedded-nats", "--nats-url", url, "--data-dir", dir}, &out, &log)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-exited:
			if code != exitOK {
				t.Errorf("backend exited %d:\n%s", code, log.String())
			}
		case <-time.After(20 * time.Second):
			t.Errorf("the backend did not stop within 20s")
		}
	})
	testutil.Eventually(t, 30*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(dir, natsauth.AdminCredsFile))
		return err == nil
	}, "the backend never wrote its admin credentials:\n%s", log.String())

	code, text, errOut := runCmd(ctx, "creds", "--role", "frontend", "--name", "stolen", "--data-dir", dir)
	if code != exitOK {
		t.Fatalf("creds: exit %d: %s", code, errOut)
	}
	file := filepath.Join(t.TempDir(), "stolen.creds")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	creds, err := natsauth.ReadCreds(file)
	if err != nil {
		t.Fatal(err)
	}
	var nc *nats.Conn
	testutil.Eventually(t, 30*time.Second, func() bool {
		nc, err = nats.Connect(url, append(creds.NATSOptions(), nats.ReconnectWait(100*time.Millisecond))...)
		return err == nil
	}, "the frontend credential never connected")
	defer nc.Close()

	time.Sleep(revocationPoll + 500*time.Millisecond) // the watch has looked once: the revocation comes later
	if code, _, errOut := runCmd(ctx, "creds", "--revoke", file, "--data-dir", dir); code != exitOK {
		t.Fatalf("creds --revoke: exit %d: %s", code, errOut)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return !nc.IsConnected() },
		"the revoked credential is still connected to the running embedded server:\n%s", log.String())
	time.Sleep(time.Second) // its reconnects are refused
	if nc.IsConnected() {
		t.Errorf("the revoked credential connected again")
	}
}
