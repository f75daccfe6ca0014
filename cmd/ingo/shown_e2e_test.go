package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestStudentTextCannotDriveTheTerminal_Docker: a student's answer that
// the grader puts in its feedback (examples/hello greets by name) reaches
// the teacher's terminal through `ingo submit --wait`, `ingo result` and
// `ingo jobs` shown, never obeyed.
func TestStudentTextCannotDriveTheTerminal_Docker(t *testing.T) {
	testutil.RequireImage(t, "ingo/env-default")
	client := startSystem(t, "--runtime", "docker", "--concurrency", "2")
	awaitDefault(t, client)

	// The testutil.HostileText text without its bytes that are not UTF-8, which no
	// answer can carry.
	name := strings.ToValidUTF8(testutil.HostileText[:strings.Index(testutil.HostileText, "\x00")], "")
	code, out, errOut := client("submit", filepath.Join("..", "..", "examples", "hello"), "-i", "name="+name, "--wait")
	if code != exitOK {
		t.Fatalf("submit: exit %d\nstdout: %q\nstderr: %q", code, out, errOut)
	}
	id := ""
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(line, "job"); ok && id == "" {
			id = strings.TrimSpace(v)
		}
	}
	outputs := map[string]string{"submit --wait": out + errOut}
	code, out, errOut = client("result", id)
	if code != exitOK {
		t.Fatalf("result %s: exit %d\nstdout: %q\nstderr: %q", id, code, out, errOut)
	}
	outputs["result"] = out + errOut
	code, out, errOut = client("result", id, "--json")
	outputs["result --json"] = out + errOut
	for what, out := range outputs {
		if c := testutil.Obeyed(out); c != "" {
			t.Errorf("%s: a terminal obeys %q in:\n%q", what, c, out)
		}
		if !strings.Contains(out, "]52;c;cm0gLXJmIH4K") || !strings.Contains(out, "status: success") {
			t.Errorf("%s: the student's text is not shown:\n%q", what, out)
		}
	}
}
