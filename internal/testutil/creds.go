package testutil

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsserver"
)

// keys are the identities of every NATS server a test binary starts: one
// set, so that credentials minted anywhere in a test work on any of them.
var keys = sync.OnceValues(natsauth.NewKeys)

// Keys are the test binary's NATS keys.
func Keys(t testing.TB) *natsauth.Keys {
	t.Helper()
	k, err := keys()
	if err != nil {
		t.Fatal(err)
	}
	for what, seed := range k.Seeds() {
		RegisterSecret(seed, "the "+what+" seed")
	}
	return k
}

// Creds mints credentials of role and name for the default prefix.
func Creds(t testing.TB, role natsauth.Role, name string) *natsauth.Credentials {
	t.Helper()
	return CredsFor(t, role, name, "")
}

// CredsFor mints credentials of role and name for subject prefix prefix.
func CredsFor(t testing.TB, role natsauth.Role, name, prefix string) *natsauth.Credentials {
	t.Helper()
	c, err := Keys(t).Mint(role, name, prefix)
	if err != nil {
		t.Fatal(err)
	}
	RegisterSecret(c.JWT, fmt.Sprintf("the JWT of %s %s", role, name))
	RegisterSecret(string(c.Seed), fmt.Sprintf("the seed of %s %s", role, name))
	return c
}

// CredsFile writes credentials of role and name to a file of the test's
// temp dir, for processes that take --creds.
func CredsFile(t testing.TB, role natsauth.Role, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), string(role)+"-"+name+".creds")
	if err := Creds(t, role, name).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteKeys saves the test binary's keys in dir, so that a process given
// that data dir (ingo up, ingo backend --embedded-nats) trusts the same
// identities as the test.
func WriteKeys(t testing.TB, dir string) {
	t.Helper()
	if err := Keys(t).Save(dir); err != nil {
		t.Fatal(err)
	}
}

// Superuser is who the helpers connect as when a test names no role: the
// backend's role, which may use every subject of the default prefix.
func Superuser(t testing.TB) *natsauth.Credentials {
	t.Helper()
	return Creds(t, natsauth.RoleBackend, "test")
}

// Admitted says whether a fresh server trusting keys (as it loads them
// now, revocations included) lets creds connect.
func Admitted(t testing.TB, keys *natsauth.Keys, creds *natsauth.Credentials) bool {
	t.Helper()
	srv, err := natsserver.Start(natsserver.Options{Addr: "127.0.0.1:0", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL(), append(creds.NATSOptions(), nats.Timeout(2*time.Second))...)
	if err != nil {
		return false
	}
	nc.Close()
	return true
}
