package apitoken

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func testKey(t *testing.T) []byte {
	t.Helper()
	key, err := LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestIssueVerify(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	now := time.Unix(1700000000, 0)
	tok, err := Issue(key, RoleFrontend, "moodle-prod", now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Verify(key, tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Role != RoleFrontend || c.Name != "moodle-prod" || !c.IssuedAt.Equal(now) || c.ID == "" {
		t.Errorf("claims %+v", c)
	}
	if again, _ := Issue(key, RoleFrontend, "moodle-prod", now); again == tok {
		t.Error("two tokens for one name are equal: the random id is missing")
	}

	signed, sig, _ := strings.Cut(tok, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		b[i] ^= 1
		return string(b)
	}
	admin, _ := Issue(key, RoleAdmin, "moodle-prod", now)
	adminPayload, _, _ := strings.Cut(admin, ".")
	for name, bad := range map[string]string{
		"empty":                "",
		"no signature":         signed,
		"altered payload":      flip(signed, len(prefix)+3) + "." + sig,
		"altered signature":    signed + "." + flip(sig, 2),
		"payload of another":   adminPayload + "." + sig,
		"signature not base64": signed + ".!!!",
		"no prefix":            strings.TrimPrefix(tok, prefix),
		"too long":             tok + strings.Repeat("A", MaxLength),
	} {
		if _, err := Verify(key, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Verify = %v, want ErrInvalid", name, err)
		} else if strings.Contains(err.Error(), sig) {
			t.Errorf("%s: the error quotes the token: %v", name, err)
		}
	}
	if _, err := Verify(testKey(t), tok); !errors.Is(err, ErrInvalid) {
		t.Errorf("another key: Verify = %v, want ErrInvalid", err)
	}
	for _, name := range []string{"", "a b", "a.b", strings.Repeat("x", 300)} {
		if _, err := Issue(key, RoleAdmin, name, now); err == nil {
			t.Errorf("Issue with name %q succeeded", name)
		}
	}
	if _, err := Issue(key, "root", "x", now); err == nil {
		t.Error("Issue with role root succeeded")
	}
}

// TestKeyOnce: processes creating the key at once agree on one key, kept
// 0600.
func TestKeyOnce(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := LoadOrCreateKey(dir)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if string(k) != string(keys[0]) {
			t.Fatal("two different keys were created")
		}
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v", err, fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(dir); err == nil {
		t.Error("a broken key file was accepted")
	}
}

// TestEnsureAdminToken: ingo up reuses its token across starts and makes a
// new one when the key changed.
func TestEnsureAdminToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, _ := LoadOrCreateKey(dir)
	path, created, err := EnsureAdminToken(dir, key, time.Now())
	if err != nil || !created {
		t.Fatalf("first start: created %v, %v", created, err)
	}
	first, _ := os.ReadFile(path)
	if c, err := Verify(key, strings.TrimSpace(string(first))); err != nil || c.Role != RoleAdmin {
		t.Fatalf("the written token: %+v, %v", c, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", fi.Mode())
	}
	if _, created, err := EnsureAdminToken(dir, key, time.Now()); err != nil || created {
		t.Errorf("second start: created %v, %v", created, err)
	}
	if again, _ := os.ReadFile(path); string(again) != string(first) {
		t.Error("the token changed on the second start")
	}
	other := testKey(t)
	if _, created, err := EnsureAdminToken(dir, other, time.Now()); err != nil || !created {
		t.Errorf("new key: created %v, %v", created, err)
	}
	if again, _ := os.ReadFile(path); string(again) == string(first) {
		t.Error("a token of the old key was kept")
	}
}
