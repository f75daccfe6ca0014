package internal

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPlumbingImportsNoComponent checks DESIGN.md §2: internal/ is plumbing
// and imports none of backend, agent, frontendclient or gateway, not even
// through another package or from its tests. It asks go list for the
// dependencies of every package under internal/ (this directory), test
// variants included.
func TestPlumbingImportsNoComponent(t *testing.T) {
	const module = "github.com/ingo-grader/ingo/"
	components := []string{"backend", "agent", "frontendclient", "gateway"}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-test", "-f", "{{.ImportPath}}\t{{join .Deps \" \"}}", "./...").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	n := 0
	for line := range strings.Lines(string(out)) {
		pkg, deps, _ := strings.Cut(strings.TrimSpace(line), "\t")
		if pkg == "" {
			continue
		}
		n++
		for dep := range strings.FieldsSeq(deps) {
			rest, ok := strings.CutPrefix(dep, module)
			if !ok {
				continue
			}
			for _, c := range components {
				if rest == c || strings.HasPrefix(rest, c+"/") {
					t.Errorf("%s depends on %s: internal/ is plumbing and imports no component (DESIGN.md §2)", pkg, dep)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("go list found no package under internal/")
	}
}
