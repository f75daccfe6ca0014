package main

import (
	"encoding/json"
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
	// The block names the operator JWT --init wrote: nats-server
	// reloads a new account JWT, not a new operator JWT, and a JWT
	// signed again differs by its issue time.
	_, block2, _ := runCmd(t.Context(), "creds", "--nats-config", "--data-dir", dir)
	written, err := os.ReadFile(filepath.Join(dir, natsAuthConf))
	if err != nil {
		t.Fatal(err)
	}
	for what, b := range map[string]string{"--nats-config after --revoke": block2, natsAuthConf + " after --revoke": string(written)} {
		if operatorLine(b) != operatorLine(block) || operatorLine(b) == "" {
			t.Errorf("%s names another operator JWT than the first block: a reload of the servers fails", what)
		}
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

// operatorLine is the "operator: JWT" line of a server block.
func operatorLine(block string) string {
	for line := range strings.Lines(block) {
		if strings.HasPrefix(line, "operator: ") {
			return line
		}
	}
	return ""
}

// TestCreds_RevokeKeepsAnEarlierBlocksOperator: keys of an earlier
// version keep no operator JWT; the first --revoke after an upgrade
// names the one of the nats-auth.conf the servers run with, so that
// their reload takes the revocation.
func TestCreds_RevokeKeepsAnEarlierBlocksOperator(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	if code, _, errOut := runCmd(t.Context(), "creds", "--init", "--data-dir", dir); code != exitOK {
		t.Fatalf("creds --init: exit %d: %s", code, errOut)
	}
	first, err := os.ReadFile(filepath.Join(dir, natsAuthConf))
	if err != nil {
		t.Fatal(err)
	}
	// As an earlier version left them: no operator_jwt.
	path := filepath.Join(dir, natsauth.KeysFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	delete(f, "operator_jwt")
	if data, err = json.Marshal(f); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, _ := runCmd(t.Context(), "creds", "--role", "agent", "--name", "leaked", "--data-dir", dir)
	file := filepath.Join(t.TempDir(), "leaked.creds")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a JWT signed again would differ
	if code, _, errOut := runCmd(t.Context(), "creds", "--revoke", file, "--data-dir", dir); code != exitOK {
		t.Fatalf("creds --revoke: exit %d: %s", code, errOut)
	}
	after, err := os.ReadFile(filepath.Join(dir, natsAuthConf))
	if err != nil {
		t.Fatal(err)
	}
	if operatorLine(string(after)) != operatorLine(string(first)) {
		t.Error("--revoke wrote another operator JWT than the block the servers run with: their reload fails")
	}
}

// TestCreds_NATSConfigWritesTheKeysOnce: the block's operator JWT is kept
// with the keys the first time, and later blocks leave the keys file
// alone. Before, each --nats-config wrote it again: as root (the docs'
// `>> /etc/nats/...` invites sudo) it became root's, unreadable to a
// backend of its own user; it failed on a read-only data directory; and
// it could undo a revocation written meanwhile.
func TestCreds_NATSConfigWritesTheKeysOnce(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	if code, _, errOut := runCmd(t.Context(), "creds", "--init", "--data-dir", dir); code != exitOK {
		t.Fatalf("creds --init: exit %d: %s", code, errOut)
	}
	path := filepath.Join(dir, natsauth.KeysFile)
	if code, _, errOut := runCmd(t.Context(), "creds", "--nats-config", "--data-dir", dir); code != exitOK {
		t.Fatalf("creds --nats-config: exit %d: %s", code, errOut)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t.Context(), "creds", "--nats-config", "--data-dir", dir)
	if code != exitOK || !strings.Contains(out, "operator: ") {
		t.Fatalf("creds --nats-config again: exit %d: %s %s", code, out, errOut)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Errorf("the keys file was written again by a second --nats-config")
	}
}
