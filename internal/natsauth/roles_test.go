package natsauth_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// conn connects as creds and records the server's permission errors.
type conn struct {
	*nats.Conn
	mu     sync.Mutex
	denied []string
}

func connect(t *testing.T, url string, creds *natsauth.Credentials) *conn {
	t.Helper()
	c := &conn{}
	opts := append(creds.NATSOptions(), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		c.mu.Lock()
		c.denied = append(c.denied, err.Error())
		c.mu.Unlock()
	}))
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect as %s %s: %v", creds.Role, creds.Name, err)
	}
	t.Cleanup(nc.Close)
	c.Conn = nc
	return c
}

// wasDenied says whether the server refused something containing what.
func (c *conn) wasDenied(t *testing.T, what string) bool {
	t.Helper()
	_ = c.Flush()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, d := range c.denied {
			if strings.Contains(d, "Permissions Violation") && strings.Contains(d, what) {
				c.mu.Unlock()
				return true
			}
		}
		c.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func TestAnonymousRefused(t *testing.T) {
	n := testutil.StartNATS(t)
	_, err := nats.Connect(n.URL, nats.Timeout(2*time.Second))
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("anonymous connect: err = %v, want an authorization violation", err)
	}
	// Credentials from other keys are refused too.
	other, err := natsauth.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	c, err := other.Mint(natsauth.RoleAdmin, "mallory", "")
	if err != nil {
		t.Fatal(err)
	}
	if nc, err := nats.Connect(n.URL, append(c.NATSOptions(), nats.Timeout(2*time.Second))...); err == nil {
		nc.Close()
		t.Fatal("credentials signed by other keys were accepted")
	}
}

// TestRoles checks each role against what DESIGN.md §8 lets it do, on the
// real server: the subjects it may use, and the bundle store.
func TestRoles(t *testing.T) {
	n := testutil.StartNATS(t)
	s := messages.NewSubjects("")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The backend creates the bundle store, as `ingo backend` does.
	backend := connect(t, n.URL, testutil.Creds(t, natsauth.RoleBackend, "b"))
	if _, err := bundle.EnsureStore(ctx, backend.Conn, "", bundle.StoreConfig{}); err != nil {
		t.Fatalf("backend creates the bundle store: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\necho hidden-test\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Pack(dir, bundle.PackLimits{})
	if err != nil {
		t.Fatal(err)
	}

	// A frontend uploads, and cannot read back.
	front := connect(t, n.URL, testutil.Creds(t, natsauth.RoleFrontend, "course1"))
	fstore, err := bundle.OpenStore(front.Conn, "")
	if err != nil {
		t.Fatal(err)
	}
	if up, err := fstore.Put(ctx, "course1", b); err != nil || !up {
		t.Fatalf("frontend uploads: uploaded %v, %v", up, err)
	}
	if up, err := fstore.Put(ctx, "course1", b); err != nil || up {
		t.Fatalf("frontend finds its upload: uploaded %v, %v", up, err)
	}
	short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	if _, err := fstore.Get(short, "course1", b.Digest(), 0); err == nil {
		t.Fatal("a frontend read a task bundle")
	}
	cancelShort()
	short, cancelShort = context.WithTimeout(ctx, 3*time.Second)
	if _, err := fstore.Put(short, "course2", b); err == nil {
		t.Fatal("a frontend uploaded as another client")
	}
	cancelShort()

	// An agent reads, and cannot upload.
	agent := connect(t, n.URL, testutil.Creds(t, natsauth.RoleAgent, "a1"))
	astore, err := bundle.OpenStore(agent.Conn, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := astore.Check(ctx, "course1"); err != nil {
		t.Fatalf("agent finds the bundle store: %v", err)
	}
	got, err := astore.Get(ctx, "course1", b.Digest(), 0)
	if err != nil || got.Digest() != b.Digest() {
		t.Fatalf("agent reads the bundle: %v", err)
	}
	short, cancelShort = context.WithTimeout(ctx, 3*time.Second)
	if _, err := astore.Put(short, "a1", b); err == nil {
		t.Fatal("an agent uploaded a task bundle")
	}
	cancelShort()
	stream := s.BundleStream()

	cases := []struct {
		who  *conn
		name string
		pub  []string // denied publishes
		sub  []string // denied subscriptions
		ok   []string // allowed publishes
	}{
		{who: front, name: "frontend course1",
			pub: []string{s.BackendClient("course2"), s.BackendAgent("a1"), s.BackendAdmin("x"), s.Agent("a1"), s.Client("course2"),
				"$KV." + s.LeaderBucket() + ".leader", s.Journal("job1"), "$JS.API.STREAM.PURGE." + stream,
				"$JS.API.STREAM.MSG.GET." + stream, "$JS.API.CONSUMER.CREATE." + stream, "$JS.API.STREAM.INFO." + stream,
				"$JS.API.DIRECT.GET." + stream, "$JS.API.DIRECT.GET." + stream + "." + s.Bundles("course2") + ".x.meta",
				"$JS.API.DIRECT.GET." + stream + "." + s.Bundles("course1") + ".x.meta",
				s.Bundles("course2") + ".x.data", s.Bundles("course10") + ".x.data"},
			sub: []string{">", s.Client("course2"), s.Agent("a1"), "_INBOX.>", s.BackendClient("*")},
			ok:  []string{s.BackendClient("course1"), s.Bundles("course1") + ".x.data"}},
		{who: agent, name: "agent a1",
			pub: []string{s.BackendAgent("a2"), s.BackendClient("course1"), s.BackendAdmin("x"), s.Client("course1"),
				"$KV." + s.LeaderBucket() + ".leader", "$JS.API.STREAM.PURGE." + stream, s.Bundles("course1") + ".x.meta",
				"$JS.API.STREAM.INFO." + stream, "$JS.API.CONSUMER.CREATE." + stream, "$JS.API.DIRECT.GET." + stream},
			sub: []string{">", s.Agent("a2"), s.Client("course1"), "_INBOX.>", s.BackendAgent("*")},
			ok:  []string{s.BackendAgent("a1")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, subj := range c.pub {
				if err := c.who.Publish(subj, []byte("x")); err != nil {
					t.Fatal(err)
				}
				if !c.who.wasDenied(t, subj) {
					t.Errorf("publish on %s was not refused", subj)
				}
			}
			for _, subj := range c.sub {
				if _, err := c.who.SubscribeSync(subj); err != nil {
					t.Fatal(err)
				}
				if !c.who.wasDenied(t, "Subscription to \""+subj+"\"") {
					t.Errorf("subscription to %s was not refused", subj)
				}
			}
			for _, subj := range c.ok {
				if err := c.who.Publish(subj, []byte("x")); err != nil {
					t.Fatal(err)
				}
				if c.who.wasDenied(t, "Publish to \""+subj+"\"") {
					t.Errorf("publish on %s was refused", subj)
				}
			}
		})
	}
}

func TestCredsFileRoundTrip(t *testing.T) {
	k := testutil.Keys(t)
	c, err := k.Mint(natsauth.RoleAgent, "host-1", "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "a.creds")
	if err := c.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("creds file mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := natsauth.ReadCreds(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Role != natsauth.RoleAgent || got.Name != "host-1" || got.Prefix != "ingo" || got.JWT != c.JWT {
		t.Errorf("read back %+v", got)
	}
	if _, err := natsauth.ParseCreds([]byte("garbage")); err == nil {
		t.Error("garbage parsed as credentials")
	}
	if _, err := k.Mint(natsauth.RoleAgent, "a.b", ""); err == nil {
		t.Error("a name with a dot was accepted: it would reach other subjects")
	}
	if _, err := k.Mint("root", "x", ""); !errors.Is(err, err) || err == nil {
		t.Error("an unknown role was accepted")
	}
}

// A service answers a request under an inbox only, and under the asker's
// own when the inbox names an identity.
func TestOwnInbox(t *testing.T) {
	for _, c := range []struct {
		reply string
		want  bool
	}{
		{"_INBOX.frontend.web.abc", true},
		{"_INBOX.frontend.web.abc.def", true},
		{"_INBOX.frontend.webby.abc", false},
		{"_INBOX.frontend.other.abc", false},
		{"_INBOX.admin.web.abc", false},
		{"_INBOX.frontend.web", false},
		{"_INBOX.Jx8cq2Bz.17", true}, // a server without ingo's identities
		{"_INBOX.backend.b1.xyz", true},
		{"_INBOX.agent.web.abc", false},
		{"ingo.journal.batch.v1", false},
		{"$KV.INGO_LEADER.backend", false},
		{"ingo.client.web", false},
		{"", false},
	} {
		if got := natsauth.OwnInbox(c.reply, natsauth.RoleFrontend, "web"); got != c.want {
			t.Errorf("OwnInbox(%q) = %v, want %v", c.reply, got, c.want)
		}
	}
	// An admin's requests name any client id: any admin inbox answers.
	for reply, want := range map[string]bool{"_INBOX.admin.ops.abc": true, "_INBOX.admin.x.y.z": true,
		"_INBOX.admin.ops": false, "_INBOX.frontend.web.abc": false, "ingo.client.web": false, "_INBOX.Jx8cq2Bz.17": true} {
		if got := natsauth.OwnInbox(reply, natsauth.RoleAdmin, "cli-1234"); got != want {
			t.Errorf("admin: OwnInbox(%q) = %v, want %v", reply, got, want)
		}
	}
}
