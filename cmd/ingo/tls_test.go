package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/internal/tlsfiles"
)

// TestTLS_NothingOnThePathReadsAJob runs the backend with its embedded
// NATS server, an agent, the HTTP API and the client commands as separate
// components whose every connection passes a recording relay: a machine
// on the campus network between them. Without TLS the relay reads a
// student's answer (the test's proof that it records what it should);
// with the certificates of ingo certs it reads none, and the job is
// graded all the same.
func TestTLS_NothingOnThePathReadsAJob(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tls      bool
		wantRead bool
	}{
		{"clear text", false, true},
		{"tls", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("INGO_LOG_LEVEL", "warn")
			dir := t.TempDir()
			var natsTLS, clientTLS []string
			if tc.tls {
				if code, _, errOut := runCmd(t.Context(), "certs", "--host", "127.0.0.1", "--data-dir", dir); code != exitOK {
					t.Fatalf("certs: exit %d: %s", code, errOut)
				}
				cert, key := filepath.Join(dir, "tls-server.pem"), filepath.Join(dir, "tls-server.key")
				natsTLS = []string{"--set", "backend.nats-tls-cert=" + cert, "--set", "backend.nats-tls-key=" + key}
				clientTLS = []string{"--set", "nats.tls-ca=" + filepath.Join(dir, tlsfiles.CAFile)}
			}
			serverAddr := freeAddr(t)
			relay := startRelay(t, serverAddr)
			url := "nats://" + relay.addr
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var wg sync.WaitGroup
			defer wg.Wait()
			defer cancel()
			start := func(args ...string) *syncBuffer {
				var out, log syncBuffer
				wg.Add(1)
				go func() {
					defer wg.Done()
					if code := run(ctx, args, &out, &log); code != exitOK {
						t.Errorf("%s exited %d:\n%s", args[0], code, log.String())
					}
				}()
				return &log
			}
			start(append([]string{"backend", "--embedded-nats", "--nats-url", "nats://" + serverAddr, "--data-dir", config.DefaultDataDir()}, natsTLS...)...)
			start(append([]string{"agent", "--nats-url", url, "--name", "e2e", "--cache-dir", t.TempDir(), "--runtime", "noop"}, clientTLS...)...)
			client := func(args ...string) (int, string, string) {
				return runCmd(ctx, append(append(args, "--nats-url", url), clientTLS...)...)
			}
			awaitDefault(t, client)

			const secret = "Ada-7f3c9e-the-students-answer"
			code, out, errOut := client("submit", filepath.Join("..", "..", "examples", "hello"), "-i", "name="+secret, "--wait", "--json")
			if code != exitOK || !strings.Contains(out, `"success"`) {
				t.Fatalf("submit: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			if got := relay.saw([]byte(secret)); got != tc.wantRead {
				t.Errorf("the relay read the student's answer: %v, want %v (%d bytes relayed)", got, tc.wantRead, relay.size())
			}
			if !tc.tls {
				return
			}
			// Without the CA a component refuses the server rather than
			// go on in clear or trust any certificate, and says what to set.
			code, _, errOut = runCmd(ctx, "queue", "--nats-url", url)
			if code == exitOK || !strings.Contains(errOut, "nats.tls-ca") {
				t.Errorf("queue without nats.tls-ca: exit %d, stderr %q", code, errOut)
			}
			other := t.TempDir()
			if code, _, errOut := runCmd(ctx, "certs", "--host", "127.0.0.1", "--data-dir", other); code != exitOK {
				t.Fatalf("certs: exit %d: %s", code, errOut)
			}
			code, _, errOut = runCmd(ctx, "queue", "--nats-url", url, "--set", "nats.tls-ca="+filepath.Join(other, tlsfiles.CAFile))
			if code == exitOK || !strings.Contains(errOut, "not signed by a CA this side trusts") {
				t.Errorf("queue trusting another installation's CA (a machine in the middle): exit %d, stderr %q", code, errOut)
			}
		})
	}
}

// TestTLS_SecureWantedFromAServerInClear: a client told to require TLS
// does not fall back to clear text when the server (or something in the
// middle) offers none.
func TestTLS_SecureWantedFromAServerInClear(t *testing.T) {
	client := startSystem(t, "--runtime", "noop")
	dir := t.TempDir()
	if code, _, errOut := runCmd(t.Context(), "certs", "--host", "127.0.0.1", "--data-dir", dir); code != exitOK {
		t.Fatalf("certs: exit %d: %s", code, errOut)
	}
	code, _, errOut := client("queue", "--set", "nats.tls-ca="+filepath.Join(dir, tlsfiles.CAFile))
	if code == exitOK || !strings.Contains(errOut, "does not offer it") {
		t.Errorf("queue requiring TLS of a server in clear: exit %d, stderr %q", code, errOut)
	}
}

// TestTLS_HTTPAPI: with http-tls-cert the API answers HTTPS only.
func TestTLS_HTTPAPI(t *testing.T) {
	isolate(t)
	t.Setenv("INGO_LOG_LEVEL", "warn")
	dir := t.TempDir()
	if code, _, errOut := runCmd(t.Context(), "certs", "--host", "127.0.0.1", "--data-dir", dir); code != exitOK {
		t.Fatalf("certs: exit %d: %s", code, errOut)
	}
	cert, key := filepath.Join(dir, "tls-server.pem"), filepath.Join(dir, "tls-server.key")
	httpAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var log syncBuffer
	go func() {
		done <- run(ctx, []string{"up", "--runtime", "noop", "--data-dir", t.TempDir(), "--http-addr", httpAddr,
			"--nats-url", "nats://" + freeAddr(t),
			"--set", "http-tls-cert=" + cert, "--set", "http-tls-key=" + key,
			"--set", "backend.nats-tls-cert=" + cert, "--set", "backend.nats-tls-key=" + key}, io.Discard, &log)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("up exited %d:\n%s", code, log.String())
		}
	})
	tc, err := tlsfiles.ClientConfig(filepath.Join(dir, tlsfiles.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	secure := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 5 * time.Second}
	testutil.Eventually(t, 20*time.Second, func() bool {
		resp, err := secure.Get("https://" + httpAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "the API never answered /readyz over HTTPS:\n"+log.String())
	plain := &http.Client{Timeout: 5 * time.Second}
	resp, err := plain.Get("http://" + httpAddr + "/readyz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("the API answered in clear text too")
		}
	}
	untrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}, Timeout: 5 * time.Second}
	if resp, err := untrusting.Get("https://" + httpAddr + "/readyz"); err == nil {
		resp.Body.Close()
		t.Error("a client that does not trust the installation's CA was served")
	}
}

// relay forwards every connection to a target and records what crosses
// it both ways, as a machine on the path would.
type relay struct {
	addr string
	mu   sync.Mutex
	seen bytes.Buffer
}

func startRelay(t *testing.T, target string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var conns sync.Map
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			conns.Store(in, true)
			conns.Store(out, true)
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				io.Copy(io.MultiWriter(dst, r), src)
				dst.Close()
				src.Close()
			}
			go pipe(out, in)
			go pipe(in, out)
		}
	}()
	return r
}

func (r *relay) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen.Write(p)
}

func (r *relay) saw(b []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Contains(r.seen.Bytes(), b)
}

func (r *relay) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen.Len()
}

// TestTLS_Settings: half a pair is an error, not a server in clear; a
// server in clear beyond loopback says what it exposes.
func TestTLS_Settings(t *testing.T) {
	dir := t.TempDir()
	issued, err := tlsfiles.Issue(dir, "server", []string{"127.0.0.1"}, tlsfiles.Server, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cert, key, addr string
		wantTLS               bool
		wantErr, wantWarn     string
	}{
		{"both", issued.Cert, issued.Key, "0.0.0.0:4222", true, "", ""},
		{"neither, loopback", "", "", "127.0.0.1:4222", false, "", ""},
		{"neither, beyond loopback", "", "", "0.0.0.0:4222", false, "", "without TLS"},
		{"the key alone", "", issued.Key, "127.0.0.1:4222", false, "both", ""},
		{"the certificate alone", issued.Cert, "", "127.0.0.1:4222", false, "both", ""},
		{"a key that is not the certificate's", issued.Cert, filepath.Join(dir, tlsfiles.CAKeyFile), "127.0.0.1:4222", false, "does not match", ""},
		{"tls:// without a certificate", "", "", "tls://127.0.0.1:4222", false, "no certificate", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log syncBuffer
			cfg := defaultConfig()
			cfg.Backend.NATSTLSCert, cfg.Backend.NATSTLSKey = tc.cert, tc.key
			cfg.HTTPTLSCert, cfg.HTTPTLSKey = tc.cert, tc.key
			if rest, ok := strings.CutPrefix(tc.addr, "tls://"); ok {
				cfg.NATS.URL, tc.addr = tc.addr, rest
				cfg.HTTPTLSCert = "" // HTTP is not the case here
			}
			a := &app{cfg: &cfg, log: slog.New(slog.NewTextHandler(&log, nil))}
			ln, err := net.Listen("tcp", strings.Replace(tc.addr, ":4222", ":0", 1))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			natsTLS, natsErr := a.embeddedTLS(tc.addr)
			httpTLS, httpErr := a.httpTLS(ln)
			for what, got := range map[string]struct {
				c   *tls.Config
				err error
			}{"nats": {natsTLS, natsErr}, "http": {httpTLS, httpErr}} {
				if what == "http" && cfg.NATS.URL != defaultConfig().NATS.URL {
					continue
				}
				if tc.wantErr != "" {
					if got.err == nil || !strings.Contains(got.err.Error(), tc.wantErr) {
						t.Errorf("%s: error %v, want one saying %q", what, got.err, tc.wantErr)
					}
					continue
				}
				if got.err != nil || (got.c != nil) != tc.wantTLS {
					t.Errorf("%s: TLS %v, error %v; want TLS %v", what, got.c != nil, got.err, tc.wantTLS)
				}
			}
			if warned := strings.Count(log.String(), "without TLS"); (tc.wantWarn != "") != (warned == 2) {
				t.Errorf("warnings %d, want 2 if %q: %s", warned, tc.wantWarn, log.String())
			}
		})
	}
}

// TestTLS_WarnClear: a component that reaches NATS beyond this machine
// without requiring TLS is told what that risks, once.
func TestTLS_WarnClear(t *testing.T) {
	for _, tc := range []struct {
		urls  string
		warns int
	}{
		{"nats://127.0.0.1:4222", 0},
		{"nats://localhost:4222", 0},
		{"nats://[::1]:4222", 0},
		{"tls://grading.example.org:4222", 0},
		{"wss://grading.example.org:443", 0},
		{"nats://grading.example.org:4222", 1},
		{"ws://10.0.0.5:8080", 1},
		{"nats://nats1:4222,nats://nats2:4222", 1},
		{"tls://nats1:4222,nats://nats2:4222", 1},
		{"10.0.0.5:4222", 1},
		{"127.0.0.1:4222", 0},
	} {
		t.Run(tc.urls, func(t *testing.T) {
			var log syncBuffer
			cfg := defaultConfig()
			a := &app{cfg: &cfg, log: slog.New(slog.NewTextHandler(&log, nil))}
			a.warnClear(tc.urls)
			if got := strings.Count(log.String(), "without nats.tls-ca"); got != tc.warns {
				t.Errorf("%d warnings, want %d: %s", got, tc.warns, log.String())
			}
		})
	}
}

// TestTLS_CertsForAClusterNode: --cluster-node makes a route certificate
// (client authentication too) of the cluster's own CA, and says where it
// goes; without it, a server's of the installation's CA.
func TestTLS_CertsForAClusterNode(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args   []string
		file   string
		route  bool
		stderr string
	}{
		{[]string{"--name", "nats1", "--host", "nats1.example.org", "--cluster-node"}, "tls-cluster-nats1.pem", true, "configs/nats/node*.conf"},
		{[]string{"--name", "api", "--host", "api.example.org"}, "tls-api.pem", false, "http-tls-cert="},
	} {
		code, _, errOut := runCmd(t.Context(), append([]string{"certs", "--data-dir", dir}, tc.args...)...)
		if code != exitOK || !strings.Contains(errOut, tc.stderr) {
			t.Fatalf("certs %v: exit %d, stderr %q, want it to say %q", tc.args, code, errOut, tc.stderr)
		}
		b, err := os.ReadFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		if block == nil {
			t.Fatalf("%s: no PEM", tc.file)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth); got != tc.route {
			t.Errorf("%s: client authentication %v, want %v", tc.file, got, tc.route)
		}
		if got, want := cert.Issuer.CommonName, map[bool]string{true: "ingo cluster CA", false: "ingo CA"}[tc.route]; !strings.HasPrefix(got, want) {
			t.Errorf("%s: issuer %q, want %q", tc.file, got, want)
		}
	}
}
