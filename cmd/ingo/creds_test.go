package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestCreds_Commands: ingo creds --init makes the keys and the server
// block; --role/--name prints credentials a server of those keys admits;
// --nats-config holds no seed; --revoke makes the server refuse them.
func TestCreds_Commands(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	if code, _, errOut := runCmd(t.Context(), "creds", "--init", "--data-dir", dir); code != exitOK {
		t.Fatalf("creds --init: exit %d: %s", code, errOut)
	}
	for _, f := range []string{natsauth.KeysFile, natsauth.AdminCredsFile, natsAuthConf} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("creds --init did not write %s: %v", f, err)
		}
	}
	code, out, errOut := runCmd(t.Context(), "creds", "--role", "agent", "--name", "grader-07", "--data-dir", dir)
	if code != exitOK {
		t.Fatalf("creds: exit %d: %s", code, errOut)
	}
	c, err := natsauth.ParseCreds([]byte(out))
	if err != nil || c.Role != natsauth.RoleAgent || c.Name != "grader-07" {
		t.Fatalf("printed credentials %+v, %v", c, err)
	}
	_, block, _ := runCmd(t.Context(), "creds", "--nats-config", "--data-dir", dir)
	if !strings.Contains(block, "operator: ") || !strings.Contains(block, "resolver_preload") {
		t.Errorf("--nats-config printed %q", block)
	}
	keys, err := natsauth.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for what, seed := range keys.Seeds() {
		if strings.Contains(block, seed) || strings.Contains(out, seed) {
			t.Errorf("the %s seed was printed", what)
		}
	}
	admitted := func() bool {
		keys, err := natsauth.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return testutil.Admitted(t, keys, c)
	}
	if !admitted() {
		t.Fatal("the printed credentials were refused")
	}
	file := filepath.Join(t.TempDir(), "grader-07.creds")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a revocation covers what was issued up to its second
	if code, _, errOut := runCmd(t.Context(), "creds", "--revoke", file, "--data-dir", dir); code != exitOK || !strings.Contains(errOut, "grader-07") {
		t.Fatalf("creds --revoke: exit %d: %s", code, errOut)
	}
	if admitted() {
		t.Error("revoked credentials were admitted")
	}
	// After --revoke-all, admin.creds is made anew by the next start.
	time.Sleep(1100 * time.Millisecond)
	if code, _, errOut := runCmd(t.Context(), "creds", "--revoke-all", "--data-dir", dir); code != exitOK {
		t.Fatalf("creds --revoke-all: exit %d: %s", code, errOut)
	}
	time.Sleep(1100 * time.Millisecond)
	if code, _, errOut := runCmd(t.Context(), "creds", "--init", "--data-dir", dir); code != exitOK {
		t.Fatalf("creds --init: exit %d: %s", code, errOut)
	}
	admin, err := natsauth.ReadCreds(filepath.Join(dir, natsauth.AdminCredsFile))
	if err != nil {
		t.Fatal(err)
	}
	if keys, _ := natsauth.Load(dir); keys.Revoked(admin) {
		t.Error("admin.creds still revoked after the next start")
	}
	if code, _, errOut := runCmd(t.Context(), "creds", "--role", "root", "--name", "x", "--data-dir", dir); code == exitOK || !strings.Contains(errOut, "unknown role") {
		t.Errorf("an unknown role: exit %d: %s", code, errOut)
	}
}

// Credentials an earlier ingo made (other permissions) are refused with a
// message that says how to make new ones, before anything connects: with
// them, uploads of task folders would fail later on a permissions
// violation.
func TestCreds_OutdatedRefused(t *testing.T) {
	isolate(t)
	account, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey()
	uc := jwt.NewUserClaims(pub)
	uc.Name = "course-algo"
	uc.Tags.Add("ingo-role:frontend", "ingo-prefix:ingo")
	uc.Permissions.Pub.Allow.Add("ingo.backend.client.course-algo", "$O.ingo-tasks.C.>", "$O.ingo-tasks.M.>")
	token, err := uc.Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := user.Seed()
	file, err := jwt.FormatUserConfig(token, seed)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.creds")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd(t.Context(), "queue", "--creds", path, "--nats-url", "nats://127.0.0.1:1")
	if code == exitOK || !strings.Contains(errOut, "earlier ingo") || !strings.Contains(errOut, "ingo creds --role frontend --name course-algo") {
		t.Errorf("queue with outdated credentials: exit %d: %s", code, errOut)
	}
}

// TestCredsFor_Names: an agent's and a frontend's credentials are their
// identity, so a name the settings ask for must be theirs; an admin's name
// binds nothing (an admin may use any client id), so `ingo api --creds`
// takes the admin credentials of any name. Before, it took only those
// named "api", and its error told the operator to drop a setting that
// nobody had set.
func TestCredsFor_Names(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		role   natsauth.Role
		file   string // name in the credentials file
		wanted string // name the command asks for
		ok     bool
	}{
		{natsauth.RoleAdmin, "web-1", "api", true},
		{natsauth.RoleAdmin, "api", "api", true},
		{natsauth.RoleAgent, "grader-1", "", true},
		{natsauth.RoleAgent, "grader-1", "grader-2", false},
		{natsauth.RoleFrontend, "course-algo", "other", false},
	} {
		t.Run(string(tc.role)+"/"+tc.file+"/"+tc.wanted, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.NATS.Creds = testutil.CredsFile(t, tc.role, tc.file)
			a := &app{cfg: &cfg}
			c, err := a.credsFor(tc.role, tc.wanted)
			if !tc.ok {
				if err == nil {
					t.Fatalf("credentials %s %q taken for %q", tc.role, tc.file, tc.wanted)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != tc.file {
				t.Errorf("got credentials of %q, want the file's %q", c.Name, tc.file)
			}
		})
	}
}

// TestCreds_RefusedFileNamed: credentials given with --creds that the
// server refuses (revoked, or of another installation) are named in the
// error, which says to make new ones. Before, it told the operator to
// "pass --creds FILE", which they had, and named the CLI's default file.
func TestCreds_RefusedFileNamed(t *testing.T) {
	isolate(t)
	n := testutil.StartNATS(t)
	other, err := natsauth.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	c, err := other.Mint(natsauth.RoleAdmin, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "alice.creds")
	if err := c.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd(t.Context(), "queue", "--creds", path, "--nats-url", n.URL)
	if code == exitOK || !strings.Contains(errOut, path) || !strings.Contains(errOut, "revoked") || strings.Contains(errOut, "by default") {
		t.Errorf("queue with refused credentials: exit %d: %s", code, errOut)
	}
}
