package main

import (
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/internal/natsauth"
)

// TestInstallation: agents of one installation (one account, one prefix)
// share the installation label whatever their credentials; another
// installation's agent of the same name does not.
func TestInstallation(t *testing.T) {
	mint := func(k *natsauth.Keys, name, prefix string) string {
		t.Helper()
		c, err := k.Mint(natsauth.RoleAgent, name, prefix)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := installation(c)
		if err != nil {
			t.Fatal(err)
		}
		return inst
	}
	k1, err := natsauth.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := natsauth.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	base := mint(k1, "host", "")
	if !strings.HasPrefix(base, "ingo@A") {
		t.Errorf("installation %q: want the prefix and the account's public key", base)
	}
	for _, tc := range []struct {
		name string
		inst string
		same bool
	}{
		{"other credentials, same installation", mint(k1, "host", ""), true},
		{"another agent, same installation", mint(k1, "other-host", ""), true},
		{"another installation, same agent name", mint(k2, "host", ""), false},
		{"same account, another prefix", mint(k1, "host", "exam"), false},
	} {
		if (tc.inst == base) != tc.same {
			t.Errorf("%s: %q vs %q", tc.name, tc.inst, base)
		}
	}
}
