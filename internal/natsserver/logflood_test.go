package natsserver_test

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/natsserver"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestClientErrorsDoNotFloodTheLog: a line per failed connection is a
// line anyone can write on the operator's disk; a flood of them leaves a
// few lines a minute and a count.
func TestClientErrorsDoNotFloodTheLog(t *testing.T) {
	var log testutil.SyncBuffer
	srv, err := natsserver.Start(natsserver.Options{Addr: "127.0.0.1:0", Keys: testutil.Keys(t),
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	addr := strings.TrimPrefix(srv.ClientURL(), "nats://")
	const conns = 200
	for range conns {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		// Not the protocol: the server logs a parser error and closes.
		_, _ = c.Write([]byte("NOT NATS\r\n"))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Read(make([]byte, 4096))
		c.Close()
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return srv.NumClients() == 0 }, "clients still connected")
	lines := strings.Count(log.String(), " - cid:")
	if lines == 0 || lines > 20 {
		t.Errorf("%d lines about %d bad connections, want a few:\n%s", lines, conns, log.String())
	}
}
