package natsconn_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/natsserver"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestConnect_OutlivesARefusal: a server that refuses a component's
// credentials for a while (they were revoked, or a node came back with
// another installation's block) does not end its connection for good. A
// component reconnects forever, as docs/deployment.md says, and says
// what to do. Before, nats.go closed the connection after the second
// refusal: the process went on without NATS, logging "connection
// closed" every second, never reconnecting and never exiting.
func TestConnect_OutlivesARefusal(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	start := func(k *natsauth.Keys) *server.Server {
		t.Helper()
		var err error
		for range 50 { // the port may be held a moment after a shutdown
			var srv *server.Server
			if srv, err = natsserver.Start(natsserver.Options{Addr: addr, Keys: k}); err == nil {
				t.Cleanup(srv.Shutdown)
				return srv
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatal(err)
		return nil
	}
	stop := func(srv *server.Server) { srv.Shutdown(); srv.WaitForShutdown() }
	srv := start(testutil.Keys(t))
	var logs testutil.SyncBuffer
	nc, err := natsconn.Connect(natsconn.Options{URL: srv.ClientURL(), Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Creds: testutil.Creds(t, natsauth.RoleAgent, "grader-1"), ReconnectWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	waitFor(t, "connected", nc.IsConnected)

	stop(srv)
	other, err := natsauth.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	srv = start(other)
	waitFor(t, "refused", func() bool { return strings.Contains(logs.String(), "authorization violation") || nc.IsClosed() })
	// nats.go gave up at the second refusal; retries come every 50 ms
	// plus at most 1 s of jitter.
	time.Sleep(2500 * time.Millisecond)
	if nc.IsClosed() {
		t.Fatalf("the connection was closed for good after the server refused the credentials:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "ingo creds") {
		t.Errorf("the log does not say what to do about refused credentials:\n%s", logs.String())
	}
	stop(srv)
	start(testutil.Keys(t))
	waitFor(t, "reconnected once the server admits it again", nc.IsConnected)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within 15 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
