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
// permission: a machine that opens one to a node reads everything the
// cluster carries and can forge anything. Each rogue here is a nats-server
// that somebody on the network runs, pointed at a node's cluster port,
// with the cluster's accounts (their JWTs are public) so that its own
// client would see the cluster's messages. As shipped, only a certificate
// made by `ingo certs --cluster-node` with the installation's CA opens a
// route; the last rogue, which has one, is the control: it joins, and its
// client reads what a backend publishes, which shows that the others
// would have been seen joining.
func TestNoMachineOpensARouteWithoutANodeCertificate(t *testing.T) {
	c := testutil.StartNATSCluster(t, 3)
	stranger, err := tlsfiles.Issue(t.TempDir(), "rogue", []string{"127.0.0.1"}, tlsfiles.ClusterNode, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	api := c.Issue("api", tlsfiles.Server)
	node := c.Issue("nats9", tlsfiles.ClusterNode)
	for _, tc := range []struct {
		name  string
		tls   string // the rogue's cluster tls block
		joins bool
	}{
		{"in clear", "", false},
		{"another CA's node certificate", tlsBlock(stranger), false},
		{"the installation's server certificate (the HTTP API's)", tlsBlock(api), false},
		{"the installation's node certificate (control)", tlsBlock(node), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rogue := startRogue(t, c.RouteURL(0), tc.tls)
			// What it reads, and what it sends: a subscriber on each side.
			watcher, err := nats.Connect(rogue.srv.ClientURL(), testutil.Superuser(t).NATSOptions()...)
			if err != nil {
				t.Fatal(err)
			}
			defer watcher.Close()
			read, err := watcher.SubscribeSync("ingo.agent.>")
			if err != nil {
				t.Fatal(err)
			}
			watcher.Flush()
			backend := c.ConnectAs(c.URL(0), "backend", testutil.Superuser(t))
			forged, err := backend.SubscribeSync("ingo.backend.>")
			if err != nil {
				t.Fatal(err)
			}
			backend.Flush()
			// Until a message crosses, or the rogue has tried and been
			// closed and two seconds of sending have crossed nothing: the
			// control shows a route carries them at once.
			start := time.Now()
			var crossed []string
			for len(crossed) == 0 && (rogue.closed() == 0 || time.Since(start) < 2*time.Second) {
				if time.Since(start) > wait {
					t.Fatalf("the rogue neither joined nor was closed in %v:\n%s", wait, rogue.log())
				}
				backend.Publish("ingo.agent.a1.job", []byte("a student's file"))
				watcher.Publish("ingo.backend.result", []byte("a forged grade"))
				if m, err := read.NextMsg(25 * time.Millisecond); err == nil {
					crossed = append(crossed, fmt.Sprintf("read %q", m.Data))
				}
				if m, err := forged.NextMsg(25 * time.Millisecond); err == nil {
					crossed = append(crossed, fmt.Sprintf("forged %q", m.Data))
				}
			}
			if tc.joins {
				if len(crossed) == 0 {
					t.Fatalf("the control never joined:\n%s", rogue.log())
				}
				return
			}
			if len(crossed) > 0 || rogue.srv.NumRoutes() != 0 {
				t.Fatalf("the rogue opened a route (%d now): %s\n%s", rogue.srv.NumRoutes(), strings.Join(crossed, ", "), rogue.log())
			}
			t.Logf("refused: %s", rogue.lastError())
		})
	}
}

// tlsBlock is a rogue's cluster TLS with issued's certificate, trusting
// whatever the node shows (insecure), as an attacker would.
func tlsBlock(issued tlsfiles.Issued) string {
	return fmt.Sprintf("tls {\n    cert_file: %q\n    key_file: %q\n    insecure: true\n  }", issued.Cert, issued.Key)
}

// rogue is a nats-server in the test's process, whose log it keeps.
type rogue struct {
	srv    *server.Server
	mu     sync.Mutex
	lines  []string
	closes int
}

func startRogue(t *testing.T, route, tlsConf string) *rogue {
	t.Helper()
	dir := t.TempDir()
	auth, err := testutil.Keys(t).ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`server_name: rogue
listen: 127.0.0.1:%d
cluster {
  name: ingo
  listen: 127.0.0.1:%d
  %s
  routes: [ %s ]
}
`, testutil.FreePort(t), testutil.FreePort(t), tlsConf, route) + auth
	file := filepath.Join(dir, "rogue.conf")
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
		t.Fatal("the rogue does not start")
	}
	return r
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

func (r *rogue) lastError() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lines) == 0 {
		return ""
	}
	return r.lines[len(r.lines)-1]
}
