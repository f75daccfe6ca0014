package testutil

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/tlsfiles"
)

// ServerTLS makes a CA and a server certificate for 127.0.0.1 (and
// loopback) in a temporary directory, as ingo certs does, and returns
// what was written (Issued.CA for clients) and the server's configuration.
func ServerTLS(t testing.TB) (tlsfiles.Issued, *tls.Config) {
	t.Helper()
	issued, err := tlsfiles.Issue(t.TempDir(), "server", []string{"127.0.0.1"}, tlsfiles.Server, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := tlsfiles.ServerConfig(issued.Cert, issued.Key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return issued, sc
}
