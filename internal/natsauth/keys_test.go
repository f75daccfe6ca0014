package natsauth

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSave_KeepsTheFilesOwner: keys saved by root into a file of another
// user stay that user's, so that a backend running as it still reads
// them.
func TestSave_KeepsTheFilesOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can write another user's file: run as root (CI does)")
	}
	dir := t.TempDir()
	k, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Save(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeysFile)
	if err := os.Chown(path, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	if err := k.Save(dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 4242 || sys.Gid != 4242 || st.Mode().Perm() != 0o600 {
		t.Errorf("owner %d:%d mode %v after Save, want 4242:4242 0600", sys.Uid, sys.Gid, st.Mode().Perm())
	}
}
