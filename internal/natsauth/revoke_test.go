package natsauth_test

import (
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestRevoke: a revoked user is refused by a server that loads the keys
// after the revocation; the others are still admitted; RevokeAll refuses
// everyone issued until then, and new credentials work.
func TestRevoke(t *testing.T) {
	keys, err := natsauth.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	mint := func(name string) *natsauth.Credentials {
		c, err := keys.Mint(natsauth.RoleAgent, name, "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	admitted := func(c *natsauth.Credentials) bool { return testutil.Admitted(t, keys, c) }
	leaked, kept := mint("leaked"), mint("kept")
	if !admitted(leaked) || !admitted(kept) {
		t.Fatal("fresh credentials refused")
	}
	pub, err := leaked.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // revocations have a resolution of a second
	keys.Revoke(pub)
	if admitted(leaked) {
		t.Error("revoked credentials admitted")
	}
	if !admitted(kept) {
		t.Error("other credentials refused after one revocation")
	}
	time.Sleep(1100 * time.Millisecond)
	keys.RevokeAll()
	if admitted(kept) {
		t.Error("credentials issued before RevokeAll admitted")
	}
	time.Sleep(1100 * time.Millisecond)
	if fresh := mint("fresh"); !admitted(fresh) {
		t.Error("credentials issued after RevokeAll refused")
	}
}
