package natsserver_test

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/natsserver"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/internal/tlsfiles"
)

// TestTLSIsRequiredOnTheNetworkOnly: a server with a certificate talks
// TLS to every client on the network, even one that starts in clear, and
// plain protocol to its own process's pipe.
func TestTLSIsRequiredOnTheNetworkOnly(t *testing.T) {
	issued, sc := testutil.ServerTLS(t)
	srv, err := natsserver.Start(natsserver.Options{Addr: "127.0.0.1:0", Keys: testutil.Keys(t), TLS: sc})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	addr := strings.TrimPrefix(srv.ClientURL(), "tls://")

	t.Run("a client in clear gets no answer", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		info, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(info, `"tls_required":true`) {
			t.Errorf("INFO does not require TLS: %s", info)
		}
		conn.Write([]byte("CONNECT {\"verbose\":false}\r\nSUB > 1\r\nPING\r\n"))
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				break // closed: what we want
			}
			if strings.HasPrefix(line, "PONG") || strings.HasPrefix(line, "MSG") {
				t.Fatalf("the server answered a client in clear: %q", line)
			}
		}
	})

	for _, tc := range []struct {
		name string
		o    natsconn.Options
	}{
		{"over the network with the CA", natsconn.Options{URL: srv.ClientURL(), TLS: clientTLS(t, issued.CA)}},
		{"over the network to a nats:// URL", natsconn.Options{URL: "nats://" + addr, TLS: clientTLS(t, issued.CA)}},
		{"in process, its tls:// URL", natsconn.Options{URL: srv.ClientURL(), InProcess: srv}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Creds = testutil.Superuser(t)
			nc, err := natsconn.Connect(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			sub, err := nc.SubscribeSync("ingo.tls.test")
			if err != nil {
				t.Fatal(err)
			}
			if err := nc.Publish("ingo.tls.test", []byte("x")); err != nil {
				t.Fatal(err)
			}
			if _, err := sub.NextMsg(10 * time.Second); err != nil {
				t.Fatalf("no message back: %v (last error %v)", err, nc.LastError())
			}
			if tc.o.InProcess == nil && nc.TLSRequired() == false {
				t.Error("connected without TLS")
			}
		})
	}

	t.Run("another CA is refused", func(t *testing.T) {
		other, err := tlsfiles.Issue(t.TempDir(), "server", []string{"127.0.0.1"}, tlsfiles.Server, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		nc, err := natsconn.Connect(natsconn.Options{URL: srv.ClientURL(), TLS: clientTLS(t, other.CA), Creds: testutil.Superuser(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		testutil.Eventually(t, 10*time.Second, func() bool {
			err := nc.LastError()
			return err != nil && strings.Contains(err.Error(), "unknown authority")
		}, "no certificate error")
		if nc.IsConnected() {
			t.Error("connected to a server whose certificate another CA signed")
		}
	})
}

func clientTLS(t *testing.T, ca string) *tls.Config {
	t.Helper()
	c, err := tlsfiles.ClientConfig(ca)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
