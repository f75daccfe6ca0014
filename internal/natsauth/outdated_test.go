package natsauth

import (
	"testing"

	"github.com/nats-io/jwt/v2"
)

// Credentials of an earlier ingo (other permissions, same keys) are
// recognised as such; freshly minted ones, and the same read back, are not.
func TestOutdated(t *testing.T) {
	k, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range Roles {
		c, err := k.Mint(role, "web", "")
		if err != nil {
			t.Fatal(err)
		}
		file, err := c.File()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseCreds(file)
		if err != nil {
			t.Fatal(err)
		}
		if c.Outdated() || back.Outdated() {
			t.Errorf("%s: fresh credentials are outdated", role)
		}
		// As protocol 3 made them: the bundles in an object store.
		uc, err := jwt.DecodeUserClaims(c.JWT)
		if err != nil {
			t.Fatal(err)
		}
		uc.Permissions.Pub.Allow = jwt.StringList{"ingo.backend.client.web", "$O.ingo-tasks.C.>"}
		old := *c
		if old.JWT, err = uc.Encode(k.signing); err != nil {
			t.Fatal(err)
		}
		if !old.Outdated() {
			t.Errorf("%s: credentials with other permissions are not outdated", role)
		}
		if broken := (Credentials{JWT: "garbage", Role: role, Name: "web"}); !broken.Outdated() {
			t.Errorf("%s: an unreadable JWT is not outdated", role)
		}
	}
}
