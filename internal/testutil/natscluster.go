package testutil

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/tlsfiles"
)

// ClusterWait bounds the waits of a NATSCluster: start, restart, JetStream
// leader elections. Generous, for loaded CI machines.
const ClusterWait = 30 * time.Second

// NATSCluster is a NATS cluster with JetStream made of real nats-server
// processes on loopback, each run with configs/nats/node*.conf as shipped
// but for its addresses and paths (onLoopback): TLS on the client port,
// routes that prove certificates of the cluster's own CA. Nodes can be
// killed (SIGKILL) and restarted on the same ports and store directories.
type NATSCluster struct {
	t     testing.TB
	dir   string // the CA and the nodes' certificates
	tls   *tls.Config
	nodes []*natsNode
}

type natsNode struct {
	name    string // server_name, "nats1"...
	port    string // client port
	cport   string // cluster (route) port
	dir     string // config file and JetStream store
	process *Process
}

// StartNATSCluster runs n nats-server processes (NATSServerBinary) forming
// one JetStream cluster, and waits until every node serves JetStream (a
// meta leader is elected). They are killed when the test ends; their
// output goes to the test log if it failed. n is 3 or 5 for a cluster that
// survives one (two) dead nodes; 1 is a single server, not clustered.
// Clients need TLS with the cluster's CA: TLS, CAFile, ConnectAs.
func StartNATSCluster(t testing.TB, n int) *NATSCluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("StartNATSCluster: %d nodes", n)
	}
	bin := NATSServerBinary(t)
	c := &NATSCluster{t: t, dir: t.TempDir()}
	for i := 0; i < n; i++ {
		c.nodes = append(c.nodes, &natsNode{name: fmt.Sprintf("nats%d", i+1),
			port: freePort(t), cport: freePort(t), dir: filepath.Join(c.dir, fmt.Sprintf("nats%d", i+1))})
	}
	// Trust the test binary's keys, as docs/security.md tells an operator
	// to do with `ingo creds --init`: the nats-auth.conf each shipped file
	// includes.
	auth, err := Keys(t).ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	for i, node := range c.nodes {
		site := nodeSite{Name: node.name, Port: node.port, CPort: node.cport, Store: filepath.Join(node.dir, "jetstream")}
		forClients, forRoutes := c.Issue(node.name, tlsfiles.Server), c.Issue(node.name, tlsfiles.ClusterNode)
		site.Cert, site.Key = forClients.Cert, forClients.Key
		site.RouteCert, site.RouteKey, site.RouteCA = forRoutes.Cert, forRoutes.Key, forRoutes.CA
		for j, other := range c.nodes {
			if j != i {
				site.Routes = append(site.Routes, other.cport)
			}
		}
		// A cluster of five runs node1.conf and node2.conf twice: the
		// three files differ only in what onLoopback replaces.
		shipped, err := shippedNodeConfig(i%3 + 1)
		if err != nil {
			t.Fatal(err)
		}
		text, err := onLoopback(shipped, site)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(site.Store, 0o755); err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(node.dir, "node.conf")
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(node.dir, "nats-auth.conf"), []byte(auth), 0o644); err != nil {
			t.Fatal(err)
		}
		node.process = StartProcess(t, node.name, bin, nil, "-c", conf)
	}
	if c.tls, err = tlsfiles.ClientConfig(c.CAFile()); err != nil {
		t.Fatal(err)
	}
	c.WaitReady()
	return c
}

// Issue signs a certificate of use for 127.0.0.1 in the cluster's
// directory, as `ingo certs --data-dir` does in an installation's: the
// nodes' have the names "nats1"...
func (c *NATSCluster) Issue(name string, use tlsfiles.Use) tlsfiles.Issued {
	c.t.Helper()
	issued, err := tlsfiles.Issue(c.dir, name, []string{"127.0.0.1"}, use, time.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	return issued
}

// CAFile is the CA of the nodes' certificates for their clients, what
// components take as nats.tls-ca.
func (c *NATSCluster) CAFile() string { return filepath.Join(c.dir, tlsfiles.CAFile) }

// TLS is a client's TLS configuration, trusting the cluster's CA.
func (c *NATSCluster) TLS() *tls.Config { return c.tls.Clone() }

// ConnectAs is testutil.ConnectAs to url (one node's, or URLs) over TLS.
func (c *NATSCluster) ConnectAs(url, name string, creds *natsauth.Credentials) *nats.Conn {
	c.t.Helper()
	return connectAs(c.t, natsconn.Options{URL: url, Name: name, Creds: creds, TLS: c.TLS()})
}

// superuser connects to urls as the superuser, for the cluster's own
// probes: no reconnection, quick to fail.
func (c *NATSCluster) superuser(urls string) (*nats.Conn, error) {
	return nats.Connect(urls, append(Superuser(c.t).NATSOptions(), nats.Secure(c.TLS()), nats.NoReconnect(), nats.Timeout(time.Second))...)
}

// Size is the number of nodes.
func (c *NATSCluster) Size() int { return len(c.nodes) }

// URLs lists every node's client URL, comma-separated, as nats.Connect
// and --nats-url take them.
func (c *NATSCluster) URLs() string {
	urls := make([]string, len(c.nodes))
	for i := range c.nodes {
		urls[i] = c.URL(i)
	}
	return strings.Join(urls, ",")
}

// URL is node i's client URL (i from 0).
func (c *NATSCluster) URL(i int) string { return "nats://127.0.0.1:" + c.nodes[i].port }

// RoutePort is node i's cluster (route) port on 127.0.0.1.
func (c *NATSCluster) RoutePort(i int) string { return c.nodes[i].cport }

// RouteCAFile is the cluster's CA, which signs the nodes' route
// certificates (tlsfiles.ClusterNode) and nothing else.
func (c *NATSCluster) RouteCAFile() string { return filepath.Join(c.dir, tlsfiles.ClusterCAFile) }

// Name is node i's server_name ("nats1" for node 0).
func (c *NATSCluster) Name(i int) string { return c.nodes[i].name }

// Node is node i's process.
func (c *NATSCluster) Node(i int) *Process { return c.nodes[i].process }

// IndexOfURL says which node serves url (as nats.Conn.ConnectedUrl gives
// it), or -1.
func (c *NATSCluster) IndexOfURL(url string) int {
	for i := range c.nodes {
		if url == c.URL(i) {
			return i
		}
	}
	return -1
}

// IndexOfName says which node has the server_name name, or -1.
func (c *NATSCluster) IndexOfName(name string) int {
	for i, n := range c.nodes {
		if n.name == name {
			return i
		}
	}
	return -1
}

// KillNode kills node i with SIGKILL: no goodbye to its routes or clients,
// nothing flushed, as when its machine dies.
func (c *NATSCluster) KillNode(i int) {
	c.t.Helper()
	c.t.Logf("NATS cluster: SIGKILL %s (%s)", c.nodes[i].name, c.URL(i))
	c.nodes[i].process.Kill()
}

// RestartNode starts node i again, with the same ports, config and store
// (killing it first if it runs), and waits until it serves JetStream.
func (c *NATSCluster) RestartNode(i int) {
	c.t.Helper()
	c.t.Logf("NATS cluster: restart %s (%s)", c.nodes[i].name, c.URL(i))
	p := c.nodes[i].process
	deadline := time.Now().Add(ClusterWait)
	for {
		p.Restart()
		// A port of the killed process may be held for a moment: the
		// new process then exits, and is started again.
		select {
		case <-p.Done():
			if time.Now().After(deadline) {
				c.t.Fatalf("NATS cluster: %s keeps exiting after restart", c.nodes[i].name)
			}
			time.Sleep(100 * time.Millisecond)
			continue
		case <-time.After(500 * time.Millisecond):
		}
		break
	}
	c.WaitNodeReady(i)
}

// WaitReady waits until every running node serves JetStream and, when all
// are running, until a stream replicated on all of them can be placed: the
// meta leader learns its peers a moment after it answers requests ("no
// suitable peers for placement" otherwise).
func (c *NATSCluster) WaitReady() {
	c.t.Helper()
	all := true
	for i, n := range c.nodes {
		if n.process.Exited() {
			all = false
			continue
		}
		c.WaitNodeReady(i)
	}
	if !all || len(c.nodes) < 2 {
		return
	}
	var last error
	for deadline := time.Now().Add(ClusterWait); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if last = c.placeProbe(); last == nil {
			return
		}
	}
	c.t.Fatalf("NATS cluster: no stream can be placed on all %d nodes after %v: %v", len(c.nodes), ClusterWait, last)
}

// placeProbe creates and deletes a stream with one replica per node.
func (c *NATSCluster) placeProbe() error {
	nc, err := c.superuser(c.URLs())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	const name = "TESTUTIL_PLACEMENT_PROBE"
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"testutil.placement.probe"},
		Storage: jetstream.MemoryStorage, Replicas: len(c.nodes)}); err != nil {
		return err
	}
	return js.DeleteStream(ctx, name)
}

// WaitNodeReady waits until node i accepts clients and answers a
// JetStream request, which takes a meta leader that it knows.
func (c *NATSCluster) WaitNodeReady(i int) {
	c.t.Helper()
	var last error
	deadline := time.Now().Add(ClusterWait)
	for time.Now().Before(deadline) {
		if c.nodes[i].process.Exited() {
			c.t.Fatalf("NATS cluster: %s exited: %v", c.nodes[i].name, c.nodes[i].process.Err())
		}
		if last = c.jetStreamReady(i); last == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("NATS cluster: %s does not serve JetStream after %v: %v", c.nodes[i].name, ClusterWait, last)
}

// jetStreamReady asks node i alone for the account's JetStream info.
func (c *NATSCluster) jetStreamReady(i int) error {
	nc, err := c.superuser(c.URL(i))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}

// StreamLeader is the node index of stream's leader, or -1 when it has
// none right now (or the stream does not exist).
func (c *NATSCluster) StreamLeader(stream string) int {
	info, err := c.streamInfo(stream)
	if err != nil || info.Cluster == nil {
		return -1
	}
	return c.IndexOfName(info.Cluster.Leader)
}

// WaitStreamCurrent waits until stream has a leader and every one of its
// replicas on a running node is current (caught up): then any one node
// can die without the stream losing its quorum or data.
func (c *NATSCluster) WaitStreamCurrent(stream string) {
	c.t.Helper()
	var why string
	deadline := time.Now().Add(ClusterWait)
	for time.Now().Before(deadline) {
		info, err := c.streamInfo(stream)
		switch {
		case err != nil:
			why = err.Error()
		case info.Cluster == nil || info.Cluster.Leader == "":
			why = "no leader"
		default:
			why = ""
			for _, r := range info.Cluster.Replicas {
				if i := c.IndexOfName(r.Name); i >= 0 && !c.nodes[i].process.Exited() && (r.Offline || !r.Current) {
					why = fmt.Sprintf("replica %s not current (offline %v, lag %d)", r.Name, r.Offline, r.Lag)
				}
			}
			// Every running node has a replica (R = cluster size) or
			// enough of them are listed; a replica missing from the list
			// is not yet known to the leader.
			if why == "" && len(info.Cluster.Replicas)+1 < min(info.Config.Replicas, len(c.nodes)) {
				why = fmt.Sprintf("%d replicas besides the leader, want %d", len(info.Cluster.Replicas), info.Config.Replicas-1)
			}
			if why == "" {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("NATS cluster: stream %s not current after %v: %s", stream, ClusterWait, why)
}

// streamInfo asks any running node.
func (c *NATSCluster) streamInfo(stream string) (*jetstream.StreamInfo, error) {
	var urls []string
	for i, n := range c.nodes {
		if !n.process.Exited() {
			urls = append(urls, c.URL(i))
		}
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("no node runs")
	}
	nc, err := c.superuser(strings.Join(urls, ","))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	return s.CachedInfo(), nil
}
