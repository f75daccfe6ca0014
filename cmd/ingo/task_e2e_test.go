package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestTaskTest_Docker runs `ingo task check` and `ingo task test` on
// examples/hello against a real backend and a Docker agent: every sample
// passes; then, on a copy whose right answer expects another grade, the
// command fails and names that test.
func TestTaskTest_Docker(t *testing.T) {
	testutil.RequireImage(t, "ingo/env-default")
	client := startSystem(t, "--runtime", "docker", "--concurrency", "2")
	awaitDefault(t, client)
	hello := filepath.Join("..", "..", "examples", "hello")

	code, out, errOut := client("task", "check", hello)
	if code != exitOK || !strings.Contains(out, "environment docker/default is offered by the running installation") {
		t.Errorf("task check: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	code, out, errOut = client("task", "test", hello)
	if code != exitOK {
		t.Fatalf("task test: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, name := range []string{"right", "empty", "missing", "from-file"} {
		row := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s.*\sPASS$`)
		if !row.MatchString(out) {
			t.Errorf("no PASS row for %s in:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "4 passed, 0 failed, 0 errors") {
		t.Errorf("summary missing:\n%s", out)
	}

	changed := copyDir(t, hello)
	right := filepath.Join(changed, "tests", "right.yaml")
	data, err := os.ReadFile(right)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, right, strings.Replace(string(data), "grade: 100", "grade: 50", 1))
	code, out, errOut = client("task", "test", changed)
	if code != exitFailure || !regexp.MustCompile(`(?m)^right\s.*\sFAIL grade 100, want 50$`).MatchString(out) ||
		!strings.Contains(errOut, "1 of 4 sample answer(s) did not pass: right") {
		t.Errorf("changed expectation: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	code, out, _ = client("task", "test", "--json", "--run", "^right$", changed)
	var res samplesJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != exitFailure {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	if len(res.Tests) != 1 || res.Failed != 1 || res.Tests[0].Got == nil || res.Tests[0].Got.Grade != 100 ||
		len(res.Tests[0].Mismatches) != 1 {
		t.Errorf("--json --run right: %+v", res)
	}

	// An environment nobody offers is an error once a backend answers.
	writeFile(t, filepath.Join(changed, "task.yaml"), strings.Replace(readFile(t, filepath.Join(hello, "task.yaml")),
		"environment_id: default", "environment_id: nosuch", 1))
	code, out, _ = client("task", "check", changed)
	if code != exitFailure || !strings.Contains(out, "no agent of the running installation offers environment docker/nosuch") {
		t.Errorf("unknown environment: exit %d\n%s", code, out)
	}
}

// copyDir copies a task folder into a temporary one, modes kept (the run
// file stays executable).
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
