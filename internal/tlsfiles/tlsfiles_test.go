package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func TestIssueMakesACAOnceAndCertificatesItSigns(t *testing.T) {
	dir := t.TempDir()
	first, err := Issue(dir, "server", []string{"nats1.example.org", " 10.0.0.5 ", "::1"}, Server, now)
	if err != nil {
		t.Fatal(err)
	}
	if !first.CAMade {
		t.Error("first Issue: CAMade false")
	}
	second, err := Issue(dir, "nats2", []string{"nats2.example.org"}, Server, now)
	if err != nil {
		t.Fatal(err)
	}
	if second.CAMade {
		t.Error("second Issue made another CA: the clients' tls-ca.pem would not trust it")
	}
	for _, f := range []string{first.Key, second.Key, filepath.Join(dir, CAKeyFile)} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	pool, err := Pool(first.CA)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cert, host string
		ok         bool
	}{
		{first.Cert, "nats1.example.org", true},
		{first.Cert, "10.0.0.5", true},
		{first.Cert, "::1", true},
		{first.Cert, "nats2.example.org", false},
		{first.Cert, "127.0.0.1", true}, // every certificate: the same machine's tools
		{first.Cert, "localhost", true},
		{first.Cert, "10.0.0.6", false},
		{second.Cert, "nats2.example.org", true},
		{second.Cert, "nats1.example.org", false},
	} {
		leaf := readLeaf(t, tc.cert)
		_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: tc.host, CurrentTime: now})
		if (err == nil) != tc.ok {
			t.Errorf("%s for %s: verify error %v, want ok=%v", filepath.Base(tc.cert), tc.host, err, tc.ok)
		}
		if strings.TrimSpace(leaf.Subject.CommonName) != leaf.Subject.CommonName {
			t.Errorf("common name %q not trimmed", leaf.Subject.CommonName)
		}
		if leaf.IsCA {
			t.Errorf("%s is a CA: a server's key could sign more certificates", tc.cert)
		}
	}
}

func TestIssueRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := Issue(dir, "server", []string{"a.example"}, Server, now); err != nil {
		t.Fatal(err)
	}
	caOnly := t.TempDir()
	if _, err := Issue(caOnly, "x", []string{"a.example"}, Server, now); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(caOnly, CAKeyFile)); err != nil {
		t.Fatal(err)
	}
	otherKey := t.TempDir()
	if _, err := Issue(otherKey, "x", []string{"a.example"}, Server, now); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, CAFile))
	os.Remove(filepath.Join(otherKey, CAFile))
	os.WriteFile(filepath.Join(otherKey, CAFile), b, 0o644)

	for _, tc := range []struct {
		name, dir, cert string
		hosts           []string
		at              time.Time
		want            string
	}{
		{"overwrite", dir, "server", []string{"a.example"}, now, "already exists"},
		{"no host", dir, "s2", nil, now, "at least one host"},
		{"bad host", dir, "s2", []string{"a b.example"}, now, "neither an IP address nor a DNS name"},
		{"inner wildcard", dir, "s2", []string{"a.*.example"}, now, "neither"},
		{"every host", dir, "s2", []string{"*"}, now, "neither"},
		{"a whole domain", dir, "s2", []string{"*.org"}, now, "two labels"},
		{"bad name", dir, "../x", []string{"a.example"}, now, "letters, digits"},
		{"the CA's name", dir, "ca", []string{"a.example"}, now, "a CA's own"},
		{"CA without its key", caOnly, "s2", []string{"a.example"}, now, "read the CA key"},
		{"CA with another's key", otherKey, "s2", []string{"a.example"}, now, "is not the key of"},
		{"CA expired", dir, "s3", []string{"a.example"}, now.Add(CALifetime + time.Hour), "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Issue(tc.dir, tc.cert, tc.hosts, Server, tc.at)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "tls-s2.pem")); err == nil {
		t.Error("a refused Issue left a certificate behind")
	}
}

func TestWildcardHost(t *testing.T) {
	dir := t.TempDir()
	got, err := Issue(dir, "w", []string{"*.grading.example"}, Server, now)
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := Pool(got.CA)
	b, _ := os.ReadFile(got.Cert)
	leaf, _ := parseCert(b)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "nats.grading.example", CurrentTime: now}); err != nil {
		t.Error(err)
	}
}

func TestServerConfig(t *testing.T) {
	dir := t.TempDir()
	got, err := Issue(dir, "server", []string{"nats.example"}, Server, now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Issue(t.TempDir(), "server", []string{"nats.example"}, Server, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cert, key string
		at              time.Time
		want            error
		wantText        string
	}{
		{"good", got.Cert, got.Key, now, nil, ""},
		{"expired", got.Cert, got.Key, now.Add(ServerLifetime + time.Hour), ErrExpired, "ingo certs"},
		{"not yet valid", got.Cert, got.Key, now.Add(-2 * time.Hour), ErrExpired, "valid from"},
		{"another's key", got.Cert, other.Key, now, nil, "private key does not match"},
		{"no key", got.Cert, "", now, nil, "both"},
		{"missing", filepath.Join(dir, "nope.pem"), got.Key, now, nil, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ServerConfig(tc.cert, tc.key, tc.at)
			switch {
			case tc.want == nil && tc.wantText == "":
				if err != nil {
					t.Fatal(err)
				}
			case err == nil:
				t.Fatal("no error")
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("error %v, want %v", err, tc.want)
			case !strings.Contains(err.Error(), tc.wantText):
				t.Fatalf("error %v, want one saying %q", err, tc.wantText)
			}
		})
	}
}

// TestHandshake is the whole point: a client with the CA file talks to
// the server, and a client with another CA's file refuses it, as it
// refuses a machine in the middle that shows its own certificate.
func TestHandshake(t *testing.T) {
	dir := t.TempDir()
	srv, err := Issue(dir, "server", []string{"nats.example"}, Server, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := Issue(t.TempDir(), "server", []string{"nats.example"}, Server, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ServerConfig(srv.Cert, srv.Key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ca, host string
		ok             bool
	}{
		{"its CA", srv.CA, "nats.example", true},
		{"another CA", stranger.CA, "nats.example", false},
		{"another host", srv.CA, "evil.example", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, err := ClientConfig(tc.ca)
			if err != nil {
				t.Fatal(err)
			}
			cc.ServerName = tc.host
			// A socket, not net.Pipe: a client's alert and the server's
			// flight would block each other on a pipe without buffer.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			done := make(chan error, 1)
			go func() {
				a, err := ln.Accept()
				if err != nil {
					done <- err
					return
				}
				a.SetDeadline(time.Now().Add(10 * time.Second))
				s := tls.Server(a, sc)
				done <- s.Handshake()
				s.Close()
			}()
			b, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			b.SetDeadline(time.Now().Add(10 * time.Second))
			c := tls.Client(b, cc)
			err = c.Handshake()
			c.Close()
			<-done
			if (err == nil) != tc.ok {
				t.Fatalf("handshake error %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestPoolRefusesWhatIsNoCertificate(t *testing.T) {
	f := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(f, []byte("not a certificate"), 0o644)
	if _, err := Pool(f); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("error %v", err)
	}
}

// Only a cluster node's route certificate opens a route: its CA is the
// cluster's, which signs nothing else, so that neither end of a route
// takes the HTTP API's certificate (or any other of the installation's
// CA) for a node's. A route's ends are a client and a server.
func TestRouteCertificatesHaveTheirOwnCA(t *testing.T) {
	dir := t.TempDir()
	node, err := Issue(dir, "nats1", []string{"nats1.example"}, ClusterNode, now)
	if err != nil {
		t.Fatal(err)
	}
	api, err := Issue(dir, "nats1", []string{"nats1.example"}, Server, now)
	if err != nil {
		t.Fatal(err)
	}
	if node.CA == api.CA || filepath.Base(node.Cert) != "tls-cluster-nats1.pem" || filepath.Base(api.Cert) != "tls-nats1.pem" {
		t.Fatalf("files: %+v and %+v", node, api)
	}
	for _, bad := range []struct {
		name string
		use  Use
	}{{"ca", Server}, {"cluster-ca", Server}, {"cluster-ca", ClusterNode}, {"cluster-x", Server}, {"x", Use(7)}} {
		if _, err := Issue(dir, bad.name, []string{"x.example"}, bad.use, now); err == nil {
			t.Errorf("Issue took the name %q for use %d", bad.name, bad.use)
		}
	}
	clusterCA, err := Pool(node.CA)
	if err != nil {
		t.Fatal(err)
	}
	clientsCA, err := Pool(api.CA)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		description string
		cert        string
		roots       *x509.CertPool
		usage       x509.ExtKeyUsage
		ok          bool
	}{
		{"a node dialling a route", node.Cert, clusterCA, x509.ExtKeyUsageClientAuth, true},
		{"a node answering a route", node.Cert, clusterCA, x509.ExtKeyUsageServerAuth, true},
		{"the API's certificate dialling a route", api.Cert, clusterCA, x509.ExtKeyUsageClientAuth, false},
		{"the API's certificate answering a route", api.Cert, clusterCA, x509.ExtKeyUsageServerAuth, false},
		{"a route certificate to a client", node.Cert, clientsCA, x509.ExtKeyUsageServerAuth, false},
		{"the API's certificate to a client", api.Cert, clientsCA, x509.ExtKeyUsageServerAuth, true},
	} {
		leaf := readLeaf(t, tc.cert)
		_, err = leaf.Verify(x509.VerifyOptions{Roots: tc.roots, DNSName: "nats1.example", CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{tc.usage}})
		if (err == nil) != tc.ok {
			t.Errorf("%s: verify error %v, want ok=%v", tc.description, err, tc.ok)
		}
	}
}

func readLeaf(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := parseCert(b)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}
