package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BinaryDir removes the old directories of processes that are gone, and
// keeps recent ones, those of live processes and everything else in the
// temp dir.
func TestBinaryDirRemovesTheDeadOnes(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dirs := map[string]bool{ // name -> kept
		fmt.Sprintf("bin-p%d-123", gone.Process.Pid): false,
		fmt.Sprintf("bin-p%d-456", os.Getpid()):      true,
		"bin-p1-789":                                 true, // init: alive
		"bin-pnotapid-1":                             true,
		"bin-1337441348":                             true, // the names before pids
		"other-p99999999-1":                          true,
		"bin-p-1":                                    true,
	}
	old := time.Now().Add(-2 * staleAfter)
	for d := range dirs {
		if err := os.MkdirAll(filepath.Join(tmp, d, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(filepath.Join(tmp, d), old, old); err != nil {
			t.Fatal(err)
		}
	}
	// A dead pid's directory made a moment ago: perhaps a live run in
	// another pid namespace.
	recent := fmt.Sprintf("bin-p%d-999", gone.Process.Pid)
	if err := os.MkdirAll(filepath.Join(tmp, recent), 0o755); err != nil {
		t.Fatal(err)
	}
	dirs[recent] = true
	made, err := BinaryDir("bin-")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(made) != tmp {
		t.Errorf("made %s, not in %s", made, tmp)
	}
	for d, kept := range dirs {
		_, err := os.Stat(filepath.Join(tmp, d))
		if got := err == nil; got != kept {
			t.Errorf("%s kept = %v, want %v", d, got, kept)
		}
	}
}
