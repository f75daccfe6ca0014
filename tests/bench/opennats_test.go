package bench

import (
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// rawSubject carries the raw request/reply reference, under the prefix so
// that an authenticated connection may use it.
const rawSubject = "ingo.bench.raw"

// openServers are the URLs of servers without authentication: references
// for what identities and permissions cost, never how ingo runs.
var openServers sync.Map

// startOpenNATS runs a nats-server that admits anybody, configured as the
// embedded one otherwise is (JetStream, 8 MiB messages), and returns its
// URL.
func startOpenNATS(t *testing.T) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: t.TempDir(), MaxPayload: 8 << 20, MaxPending: 64 << 20, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("open nats-server not ready")
	}
	t.Cleanup(s.Shutdown)
	openServers.Store(s.ClientURL(), true)
	return s.ClientURL()
}

// as are the credentials of role and name on the server at url: none on
// an open one.
func as(t *testing.T, url string, role natsauth.Role, name string) *natsauth.Credentials {
	t.Helper()
	if _, open := openServers.Load(url); open {
		return nil
	}
	return testutil.Creds(t, role, name)
}

// natsOptions are the connection options of creds (nil: none).
func natsOptions(creds *natsauth.Credentials) []nats.Option {
	if creds == nil {
		return nil
	}
	return creds.NATSOptions()
}
