package bundle

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStampCourse: a stamp is the same while nothing changes, and changes
// with any change PackCourse would pack differently, a file rewritten
// with the same size and its old modification time put back included
// (its change time moves; Linux).
func TestStampCourse(t *testing.T) {
	task, common := t.TempDir(), t.TempDir()
	write := func(dir, name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(task, "run", "#!/bin/sh\necho 1\n")
	write(common, "lib.py", "x = 1\n")
	stamp := func() string {
		t.Helper()
		s, err := StampCourse(task, common, PackLimits{})
		if err != nil {
			t.Fatal(err)
		}
		return s.Sum
	}
	seen := map[string]string{stamp(): "the start"}
	if stamp() != stamp() {
		t.Fatal("two stamps of an unchanged folder differ")
	}
	old := time.Now().Add(-time.Hour)
	for _, c := range []struct {
		name   string
		change func()
	}{
		{"same size, old time put back", func() {
			write(task, "run", "#!/bin/sh\necho 2\n")
			if err := os.Chtimes(filepath.Join(task, "run"), old, old); err != nil {
				t.Fatal(err)
			}
		}},
		{"made executable", func() {
			if err := os.Chmod(filepath.Join(task, "run"), 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{"a file added", func() { write(task, "tests.txt", "") }},
		{"a file renamed", func() {
			if err := os.Rename(filepath.Join(task, "tests.txt"), filepath.Join(task, "cases.txt")); err != nil {
				t.Fatal(err)
			}
		}},
		{"common changed", func() { write(common, "lib.py", "x = 2\n") }},
		{"a file removed", func() {
			if err := os.Remove(filepath.Join(task, "cases.txt")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		c.change()
		s := stamp()
		if before, ok := seen[s]; ok {
			t.Errorf("%s: the stamp is %s's", c.name, before)
		}
		seen[s] = c.name
	}
}

func TestStampSettled(t *testing.T) {
	now := time.Now()
	if (Stamp{Newest: now.Add(-time.Second)}).Settled(now) {
		t.Error("a stamp of a folder changed a second before is settled")
	}
	if !(Stamp{Newest: now.Add(-time.Minute)}).Settled(now) {
		t.Error("a stamp of a folder changed a minute before is not settled")
	}
}
