package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/internal/tlsfiles"
)

// A route carries every account's messages both ways, past every
// permission: a machine at either end of one reads everything the cluster
// carries and can forge anything. Each rogue here is a nats-server that
// somebody on the network runs, with the cluster's accounts (their JWTs
// are public) so that its own client would see the cluster's messages,
// and the cluster's CA certificate (every node has a copy). It either
// dials a node's cluster port, or listens on the port of a node that died
// (its address taken) for the other nodes to dial. As shipped, only a
// route certificate of the cluster's own CA (`ingo certs --cluster-node`)
// opens a route at either end. The rogues that have one are the
// controls: their client reads what a backend publishes and forges what
// it receives, which shows the others would have been seen joining.
func TestNoMachineOpensARouteWithoutANodeCertificate(t *testing.T) {
	c := testutil.StartNATSCluster(t, 3)
	stranger, err := tlsfiles.Issue(t.TempDir(), "rogue", []string{"127.0.0.1"}, tlsfiles.ClusterNode, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The installation's server certificates: the HTTP API's, and a
	// node's for its clients, which also names the node's host.
	api, forClients := c.Issue("api", tlsfiles.Server), c.Issue("nats9", tlsfiles.Server)
	node := c.Issue("nats9", tlsfiles.ClusterNode)
	cases := []struct {
		name  string
		cert  *tlsfiles.Issued // nil: in clear
		joins bool
	}{
		{"in clear", nil, false},
		{"another CA's route certificate", &stranger, false},
		{"the installation's HTTP API certificate", &api, false},
		{"a node's certificate for its clients", &forClients, false},
		{"a route certificate of the cluster's CA (control)", &node, true},
	}
	for _, tc := range cases {
		t.Run("dials a node/"+tc.name, func(t *testing.T) {
			r := startRogue(t, c, fmt.Sprint(testutil.FreePort(t)), "nats-route://127.0.0.1:"+c.RoutePort(0), tc.cert)
			r.probe(t, c, 0, tc.joins)
		})
	}
	// The last node dies; the two others keep dialling its port.
	dead := c.Size() - 1
	c.KillNode(dead)
	for _, tc := range cases[1:] { // in clear, the nodes dial nothing but TLS
		t.Run("answers for a dead node/"+tc.name, func(t *testing.T) {
			r := startRogue(t, c, c.RoutePort(dead), "", tc.cert)
			r.probe(t, c, 0, tc.joins)
		})
	}
}

// rogue is a nats-server in the test's process, whose log it keeps.
type rogue struct {
	srv    *server.Server
	mu     sync.Mutex
	lines  []string
	closes int
}

// startRogue runs a rogue with its cluster port on clusterPort, dialling
// route (if any), and cert's TLS on its routes (nil: in clear), trusting
// whatever a node shows when it dials (insecure) and the cluster's CA when
// a node dials it.
func startRogue(t *testing.T, c *testutil.NATSCluster, clusterPort, route string, cert *tlsfiles.Issued) *rogue {
	t.Helper()
	auth, err := testutil.Keys(t).ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	var tlsBlock, routes string
	if cert != nil {
		tlsBlock = fmt.Sprintf("tls {\n    cert_file: %q\n    key_file: %q\n    ca_file: %q\n    insecure: true\n  }",
			cert.Cert, cert.Key, c.RouteCAFile())
	}
	if route != "" {
		routes = "routes: [ " + route + " ]"
	}
	conf := fmt.Sprintf("server_name: rogue\nlisten: 127.0.0.1:%d\ncluster {\n  name: ingo\n  listen: 127.0.0.1:%s\n  %s\n  %s\n}\n",
		testutil.FreePort(t), clusterPort, tlsBlock, routes) + auth
	file := filepath.Join(t.TempDir(), "rogue.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(file)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	r := &rogue{srv: srv}
	srv.SetLoggerV2(r, false, false, false)
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(wait) {
		t.Fatalf("the rogue does not start:\n%s", r.log())
	}
	return r
}

// probe sends a student's file from a backend on node i to the rogue's
// side, and a grade from the rogue's side to it, until one crosses, or
// the rogue's routes have been closed and two seconds of sending crossed
// nothing (a route carries them at once: the controls). joins says which
// is right.
func (r *rogue) probe(t *testing.T, c *testutil.NATSCluster, i int, joins bool) {
	t.Helper()
	watcher, err := nats.Connect(r.srv.ClientURL(), testutil.Superuser(t).NATSOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	read, err := watcher.SubscribeSync("ingo.agent.>")
	if err != nil {
		t.Fatal(err)
	}
	backend := c.ConnectAs(c.URL(i), "backend", testutil.Superuser(t))
	forged, err := backend.SubscribeSync("ingo.backend.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := backend.Flush(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var crossed []string
	for len(crossed) == 0 && (joins || r.closed() == 0 || time.Since(start) < 2*time.Second) {
		if time.Since(start) > wait {
			t.Fatalf("after %v the rogue has neither joined nor had a route closed (joins %v):\n%s", wait, joins, r.log())
		}
		if err := backend.Publish("ingo.agent.a1.job", []byte("a student's file")); err != nil {
			t.Fatal(err)
		}
		if err := watcher.Publish("ingo.backend.result", []byte("a forged grade")); err != nil {
			t.Fatal(err)
		}
		if m, err := read.NextMsg(25 * time.Millisecond); err == nil {
			crossed = append(crossed, fmt.Sprintf("read %q", m.Data))
		}
		if m, err := forged.NextMsg(25 * time.Millisecond); err == nil {
			crossed = append(crossed, fmt.Sprintf("forged %q", m.Data))
		}
	}
	switch {
	case joins:
		t.Logf("joined: %s", strings.Join(crossed, ", "))
	case len(crossed) > 0 || r.srv.NumRoutes() != 0:
		t.Fatalf("the rogue opened a route (%d now): %s\n%s", r.srv.NumRoutes(), strings.Join(crossed, ", "), r.log())
	default:
		t.Logf("refused: %s", r.refusal())
	}
}

func (r *rogue) add(format string, v []any) {
	line := fmt.Sprintf(format, v...)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
	if strings.Contains(line, "connection closed") {
		r.closes++
	}
}

func (r *rogue) Noticef(format string, v ...any) { r.add(format, v) }
func (r *rogue) Warnf(format string, v ...any)   { r.add(format, v) }
func (r *rogue) Fatalf(format string, v ...any)  { r.add(format, v) }
func (r *rogue) Errorf(format string, v ...any)  { r.add(format, v) }
func (r *rogue) Debugf(format string, v ...any)  {}
func (r *rogue) Tracef(format string, v ...any)  {}

// closed counts the rogue's route connections that ended.
func (r *rogue) closed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closes
}

func (r *rogue) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// refusal is the rogue's first log line about a route that failed.
func (r *rogue) refusal() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if strings.Contains(l, "error") || strings.Contains(l, "closed") {
			return l
		}
	}
	return ""
}
