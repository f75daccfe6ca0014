package testutil

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ingo-grader/ingo/internal/natsserver"
)

// NATS is an embedded server for one test, which can be stopped and
// started again on the same port and data (for reconnect tests).
type NATS struct {
	t       testing.TB
	Server  *server.Server
	URL     string
	addr    string
	dataDir string
	warned  serverWarnings
}

// StartNATS runs a JetStream-enabled nats-server on a random loopback port,
// shut down when the test ends. NATS_LOGGING=1 shows its log; without it, a
// failed test shows the server's last warnings and errors.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	n := &NATS{t: t, dataDir: t.TempDir(), addr: "127.0.0.1:" + freePort(t)}
	n.Start()
	t.Cleanup(func() {
		n.Stop()
		n.warned.report(t)
	})
	return n
}

// Start (re)starts the server on its port.
func (n *NATS) Start() {
	n.t.Helper()
	o := natsserver.Options{Addr: n.addr, DataDir: n.dataDir, Keys: Keys(n.t)}
	o.Logger = n.warned.logger()
	if os.Getenv("NATS_LOGGING") != "" {
		o.Logger = Logger(n.t)
	}
	var err error
	// The port may still be held by the previous instance for a moment.
	for i := 0; i < 50; i++ {
		if n.Server, err = natsserver.Start(o); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		n.t.Fatalf("start nats: %v", err)
	}
	n.URL = n.Server.ClientURL()
}

// Stop shuts the server down (idempotent).
func (n *NATS) Stop() {
	if n.Server != nil {
		n.Server.Shutdown()
		n.Server.WaitForShutdown()
	}
}

func freePort(t testing.TB) string { return fmt.Sprint(FreePort(t)) }
