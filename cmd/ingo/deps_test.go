package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps two properties of the dependency graph (issue 17): the
// ingo binary does not link the in-container helper, its SSH server or
// creack/pty (containers/docker takes the contract from the leaf
// containers/helper/contract), and frontendclient, the client library
// frontends import, depends on nothing under containers/.
func TestDeps(t *testing.T) {
	t.Parallel()
	const mod = "github.com/ingo-grader/ingo"
	deps := func(pkg string) []string {
		t.Helper()
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, ee.Stderr)
			}
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, d := range deps(mod + "/cmd/ingo") {
		if d == mod+"/containers/helper" || strings.HasPrefix(d, mod+"/containers/helper/sshserver") || d == "github.com/creack/pty" {
			t.Errorf("cmd/ingo depends on %s: the binary would link the in-container helper", d)
		}
	}
	for _, d := range deps(mod + "/frontendclient") {
		if d == mod+"/containers" || strings.HasPrefix(d, mod+"/containers/") {
			t.Errorf("frontendclient depends on %s", d)
		}
	}
}
