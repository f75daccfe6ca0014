package natsauth_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsauth"
)

// TestRevokeThenReloadAnExternalServer does what docs/security.md says
// for an external server: revoke, install the new block, reload. The
// block's operator JWT was signed anew at every write, and nats-server
// refuses to reload a changed operator ("config reload not supported for
// TrustedOperators"): the revoked agent stayed connected and kept
// grading. The operator JWT is now kept with the keys, so the block
// changes only in the account's JWT, which a reload takes.
func TestRevokeThenReloadAnExternalServer(t *testing.T) {
	dir := t.TempDir()
	keys, _, err := natsauth.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	writeBlock := func(k *natsauth.Keys) {
		t.Helper()
		text, err := k.ServerConfig()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "nats-auth.conf"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := k.Save(dir); err != nil {
			t.Fatal(err)
		}
	}
	writeBlock(keys)
	conf := filepath.Join(dir, "node.conf")
	if err := os.WriteFile(conf, []byte("listen: 127.0.0.1:-1\ninclude \"nats-auth.conf\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts, err := natsserver.ProcessConfigFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, opts)
	leaked, closed := connectLeaked(t, s, keys)

	time.Sleep(1100 * time.Millisecond) // a revocation has a resolution of a second; JWTs' iat too
	again, err := natsauth.Load(dir)    // as `ingo creds --revoke` does
	if err != nil {
		t.Fatal(err)
	}
	pub, err := leaked.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	again.Revoke(pub)
	writeBlock(again)
	if err := s.Reload(); err != nil {
		t.Fatalf("reload with the new block: %v", err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the revoked user is still connected after the reload")
	}
}

// TestApplyToARunningServer: a server Configure made takes a revocation
// written since it started (ApplyTo, which ingo's embedded servers call
// when the keys file changes): the revoked user's connection is closed at
// once. Before, only a restart took it.
func TestApplyToARunningServer(t *testing.T) {
	dir := t.TempDir()
	keys, _, err := natsauth.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	opts := &natsserver.Options{Host: "127.0.0.1", Port: -1}
	if err := keys.Configure(opts); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, opts)
	leaked, closed := connectLeaked(t, s, keys)
	pub, err := leaked.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	again, err := natsauth.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	again.Revoke(pub)
	if deferred, err := again.ApplyTo(s, keys); err != nil || deferred {
		t.Fatalf("ApplyTo: deferred %t, err %v", deferred, err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the revoked user is still connected")
	}
	if _, err := nats.Connect(s.ClientURL(), append(leaked.NATSOptions(), nats.NoReconnect())...); err == nil {
		t.Error("the revoked user connected again")
	}

	// A revocation of every credential waits for the next start: the
	// server's own process holds credentials issued before it (here:
	// own), which it would cut off for good.
	own, err := keys.Mint(natsauth.RoleBackend, "own", "")
	if err != nil {
		t.Fatal(err)
	}
	ownConn, err := nats.Connect(s.ClientURL(), append(own.NATSOptions(), nats.NoReconnect())...)
	if err != nil {
		t.Fatal(err)
	}
	defer ownConn.Close()
	time.Sleep(1100 * time.Millisecond) // a revocation of all covers what was issued until its second
	again.RevokeAll()
	if deferred, err := again.ApplyTo(s, keys); err != nil || !deferred {
		t.Fatalf("ApplyTo of a revocation of all: deferred %t, err %v; want it deferred", deferred, err)
	}
	time.Sleep(200 * time.Millisecond)
	if !ownConn.IsConnected() {
		t.Error("a revocation of all cut the server's own process off")
	}
}

// startServer runs a NATS server of opts, quiet, until the test ends.
func startServer(t *testing.T, opts *natsserver.Options) *natsserver.Server {
	t.Helper()
	opts.NoLog, opts.NoSigs = true, true
	s, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return s
}

// connectLeaked connects to s as an agent of keys, "leaked", without
// reconnecting: closed is closed when the server ends its connection.
func connectLeaked(t *testing.T, s *natsserver.Server, keys *natsauth.Keys) (leaked *natsauth.Credentials, closed chan struct{}) {
	t.Helper()
	leaked, err := keys.Mint(natsauth.RoleAgent, "leaked", "")
	if err != nil {
		t.Fatal(err)
	}
	closed = make(chan struct{})
	nc, err := nats.Connect(s.ClientURL(), append(leaked.NATSOptions(), nats.NoReconnect(),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return leaked, closed
}
