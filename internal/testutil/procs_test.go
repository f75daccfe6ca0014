package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/tlsfiles"
)

func shell(t *testing.T) string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	return sh
}

func TestProcessKillRestartOutput(t *testing.T) {
	p := StartProcess(t, "sleeper", shell(t), []string{"PROCS_TEST_WORD=hello"},
		"-c", `echo "$PROCS_TEST_WORD from $$"; echo to-stderr >&2; exec sleep 60`)
	Eventually(t, 5*time.Second, func() bool { return strings.Contains(p.Output(), "to-stderr") }, "no output: %q", p.Output())
	if !strings.Contains(p.Output(), "hello from") {
		t.Fatalf("environment not passed: %q", p.Output())
	}
	if p.Exited() {
		t.Fatal("exited before Kill")
	}
	first := p.Pid()
	p.Kill()
	p.Kill() // idempotent
	if !p.Exited() || p.Err() == nil {
		t.Fatalf("after Kill: exited %v, err %v", p.Exited(), p.Err())
	}
	p.Restart()
	if p.Exited() || p.Pid() == first {
		t.Fatalf("after Restart: exited %v, pid %d (was %d)", p.Exited(), p.Pid(), first)
	}
	Eventually(t, 5*time.Second, func() bool { return strings.Count(p.Output(), "hello from") == 2 }, "second run wrote nothing: %q", p.Output())
}

func TestProcessStop(t *testing.T) {
	sh := shell(t)
	// Ends on SIGTERM (sleep's default action): Stop returns its status.
	p := StartProcess(t, "polite", sh, nil, "-c", "exec sleep 60")
	if err := p.Stop(5 * time.Second); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Fatalf("Stop: %v, want the SIGTERM exit", err)
	}
	// Ignores SIGTERM: killed after the timeout.
	stubborn := StartProcess(t, "stubborn", sh, nil, "-c", `trap "" TERM; echo ready; while :; do sleep 0.05; done`)
	Eventually(t, 5*time.Second, func() bool { return strings.Contains(stubborn.Output(), "ready") }, "not ready")
	if err := stubborn.Stop(200 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Stop: %v, want killed", err)
	}
	if !stubborn.Exited() {
		t.Fatal("still running after Stop")
	}
	// A clean exit is nil.
	ok := StartProcess(t, "quick", sh, nil, "-c", "exit 0")
	<-ok.Done()
	if err := ok.Stop(time.Second); err != nil {
		t.Fatalf("Stop after a clean exit: %v", err)
	}
}

func TestBoundedBuffer(t *testing.T) {
	b := &boundedBuffer{max: 10}
	for i := 0; i < 10; i++ {
		b.Write([]byte("0123456789"))
	}
	b.Write([]byte("abc"))
	s := b.String()
	if !strings.HasSuffix(s, "3456789abc") || !strings.Contains(s, "93 earlier bytes dropped") {
		t.Fatalf("%q", s)
	}
}

func TestBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	if out, err := exec.Command(NATSServerBinary(t), "--version").CombinedOutput(); err != nil {
		t.Fatalf("nats-server --version: %v: %s", err, out)
	}
	if out, err := exec.Command(IngoBinary(t), "version").CombinedOutput(); err != nil {
		t.Fatalf("ingo version: %v: %s", err, out)
	}
}

func TestNATSClusterNodeDies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three nats-server processes")
	}
	c := StartNATSCluster(t, 3)
	nc, err := nats.Connect(c.URLs(), append(Superuser(t).NATSOptions(), nats.Secure(c.TLS()), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ClusterWait)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"ingo.t.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	c.WaitStreamCurrent("T")
	publish := func(n int) {
		t.Helper()
		Eventually(t, ClusterWait, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := js.Publish(ctx, fmt.Sprintf("ingo.t.%d", n), []byte("x"))
			return err == nil
		}, "publish %d", n)
	}
	publish(1)
	leader := c.StreamLeader("T")
	if leader < 0 {
		t.Fatal("no leader")
	}
	c.KillNode(leader)
	if !c.Node(leader).Exited() {
		t.Fatal("killed node runs")
	}
	publish(2) // on the two nodes left, once a new leader is elected
	c.RestartNode(leader)
	c.WaitStreamCurrent("T")
	s, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(ctx); err != nil || info.State.Msgs != 2 {
		t.Fatalf("stream after a node death: %v %+v", err, info)
	}
	if c.IndexOfURL(c.URL(2)) != 2 || c.IndexOfName("nats1") != 0 || c.Size() != 3 {
		t.Fatal("indexes")
	}
}

// TestNATSConfigsValid checks configs/nats/node*.conf, the files operators
// use: each as StartNATSCluster runs it (onLoopback) passes nats-server's
// own parser (-t), and each holds what keeps a cluster closed: ingo's
// identities, TLS for clients, and routes that prove a node's certificate.
func TestNATSConfigsValid(t *testing.T) {
	bin := NATSServerBinary(t)
	files, err := filepath.Glob(filepath.Join(repoRoot(), "configs", "nats", "node*.conf"))
	if err != nil || len(files) != 3 {
		t.Fatalf("configs/nats: %v %v, want node1.conf to node3.conf", files, err)
	}
	// The nats-auth.conf each file includes, as `ingo creds --init` writes it.
	auth, err := Keys(t).ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	certs := t.TempDir()
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		shipped := string(b)
		name := fmt.Sprintf("nats%d", i+1)
		forClients, err := tlsfiles.Issue(certs, name, []string{name}, tlsfiles.Server, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		forRoutes, err := tlsfiles.Issue(certs, name, []string{name}, tlsfiles.ClusterNode, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		text, err := onLoopback(shipped, nodeSite{Name: name, Port: "4222", CPort: "6222", Store: filepath.Join(t.TempDir(), "js"),
			Cert: forClients.Cert, Key: forClients.Key, RouteCert: forRoutes.Cert, RouteKey: forRoutes.Key, RouteCA: forRoutes.CA,
			Routes: []string{"6223", "6224"}})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		dir := t.TempDir()
		conf := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "nats-auth.conf"), []byte(auth), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "-c", conf, "-t").CombinedOutput(); err != nil {
			t.Errorf("%s: %v: %s", f, err, out)
		}
		if !strings.Contains(shipped, "\ninclude \"nats-auth.conf\"\n") {
			t.Errorf("%s does not include nats-auth.conf: it would admit anybody", f)
		}
		for _, want := range []string{fmt.Sprintf("server_name: %s\n", name), "listen: 0.0.0.0:4222\n",
			"max_payload: 8MB\n", "max_pending: 64MB\n", "jetstream {", "store_dir:", "cluster {", "name: ingo\n",
			"listen: 0.0.0.0:6222\n", "routes: [",
			// Gossiped routes are dialled at what a node advertises: its
			// IP address unless told, which the route certificate for
			// its name does not cover (every such handshake fails).
			fmt.Sprintf("\n  advertise: %s:6222\n", name),
			fmt.Sprintf("\ntls {\n  cert_file: \"/etc/nats/tls-%s.pem\"\n  key_file: \"/etc/nats/tls-%s.key\"\n}\n", name, name),
			fmt.Sprintf("  tls {\n    cert_file: \"/etc/nats/tls-cluster-%s.pem\"\n    key_file: \"/etc/nats/tls-cluster-%s.key\"\n    ca_file: \"/etc/nats/tls-cluster-ca.pem\"\n    verify: true\n  }\n", name, name),
		} {
			if !strings.Contains(shipped, want) {
				t.Errorf("%s lacks %q", f, want)
			}
		}
		for j := 1; j <= 3; j++ {
			route := fmt.Sprintf("nats-route://nats%d:6222", j)
			if strings.Contains(shipped, route) != (j != i+1) {
				t.Errorf("%s: route %s wrong (want the two other nodes only)", f, route)
			}
		}
	}
}
