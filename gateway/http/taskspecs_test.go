package api

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/taskfile"
)

// TestTaskBundleTakesTaskYAML: a JSON job naming a task_bundle runs with
// the environment and limits of that task's task.yaml, as a job with the
// task folder does, the request's limits overriding them. It ran with the
// agents' default limits instead: during a deadline a task's 2 s CPU / 6 s
// wall timeout became 30 s / 90 s of a slot, and its 64 MiB memory 256.
// A bundle this process did not store is run as before, with a warning
// for an admin and refused for a frontend token (it stores it first).
func TestTaskBundleTakesTaskYAML(t *testing.T) {
	e := newEnv(t, Options{AdminToken: testToken})
	e.waitReady()
	archive := tarGz(t, taskFiles, nil) // time 7, memory 100
	front := []string{"Authorization", "Bearer " + e.token(apitoken.RoleFrontend, "course-a")}
	for _, c := range []struct {
		name     string
		header   []string
		limits   map[string]any
		hardTime float64
	}{
		{"admin", nil, nil, 21},
		{"admin, a request's limit", nil, map[string]any{"hard_time": 30}, 30},
		{"frontend token", front, nil, 21},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, data := e.call("POST", "/api/v1/tasks", "application/gzip", bytes.NewReader(archive), c.header...)
			if status != 201 {
				t.Fatalf("POST tasks: %d %s", status, data)
			}
			digest := decode(t, data)["task_bundle"]
			id := strings.NewReplacer(" ", "-", ",", "", "'", "").Replace(c.name)
			job := map[string]any{"job_id": id, "task_bundle": digest}
			if c.limits != nil {
				job["limits"] = c.limits
			}
			status, data = e.postJSON("/api/v1/jobs", job, c.header...)
			if status != 202 || decode(t, data)["warnings"] != nil {
				t.Fatalf("submit: %d %s", status, data)
			}
			_, res := e.followToDone(id)
			echo := get(res, "custom", "echo")
			if get(echo, "limits", "time") != 7.0 || get(echo, "limits", "memory") != 100.0 || get(echo, "limits", "hard_time") != c.hardTime {
				t.Errorf("limits %v, want task.yaml's time 7, memory 100, hard_time %v", get(echo, "limits"), c.hardTime)
			}
		})
	}

	t.Run("admin, a bundle stored elsewhere", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\nfeedback-result success\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "task.yaml"), []byte("limits:\n  time: 3\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		digest, err := e.srv.Client().UploadTask(t.Context(), dir) // as ingo submit does
		if err != nil {
			t.Fatal(err)
		}
		status, data := e.postJSON("/api/v1/jobs", map[string]any{"job_id": "elsewhere", "task_bundle": digest})
		w, _ := decode(t, data)["warnings"].([]any)
		if status != 202 || len(w) != 1 || !strings.Contains(fmt.Sprint(w[0]), "does not know its task.yaml") {
			t.Fatalf("submit: %d %s, want 202 with a warning", status, data)
		}
	})
}

// TestTaskSpecs_Bounded: the specs kept stay within each owner's byte
// budget, the least recently used going first, and one owner's uploads
// never evict another's: a single budget for all let one token's uploads
// push every other token's tasks out, and their jobs then got 404.
func TestTaskSpecs_Bounded(t *testing.T) {
	s := newTaskSpecs(3000)
	spec := func(n int) taskfile.Spec { return taskfile.Spec{Environment: fmt.Sprint(n)} }
	s.add("frontend:other", "theirs", spec(9), 1000)
	for i := range 3 {
		s.add("frontend:me", fmt.Sprint("d", i), spec(i), 1000)
	}
	if _, ok := s.get("frontend:me", "d0", false); !ok { // d0 now the most recently used
		t.Fatal("d0 forgotten within the budget")
	}
	for i := 3; i < 10; i++ {
		s.add("frontend:me", fmt.Sprint("d", i), spec(i), 1000)
	}
	for d, want := range map[string]bool{"d0": false, "d1": false, "d7": true, "d8": true, "d9": true} {
		got, ok := s.get("frontend:me", d, false)
		if ok != want || (ok && "d"+got.Environment != d) {
			t.Errorf("%s: kept %v (%+v), want %v", d, ok, got, want)
		}
	}
	if o := s.owners["frontend:me"]; o.used > 3000 {
		t.Errorf("%d bytes kept, over the budget", o.used)
	}
	if _, ok := s.get("frontend:other", "theirs", false); !ok {
		t.Error("another owner's spec was evicted")
	}
	if _, ok := s.get("frontend:me", "theirs", false); ok {
		t.Error("a frontend found another's spec")
	}
	if _, ok := s.get("admin:admin", "theirs", true); !ok {
		t.Error("an admin did not find a spec another stored")
	}
}

// aliasTaskYAML is a task.yaml of a few tens of KiB whose problems decode,
// through YAML aliases within the decoder's ratio, to some 400,000 values:
// about 40 MB of maps kept for a file of 35 KB.
func aliasTaskYAML(variant int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %d\nproblems:\n  p:\n    x: &a [", variant)
	for range 5000 {
		b.WriteString("{a: 1},")
	}
	b.WriteString("]\n    y: [")
	for range 24 {
		b.WriteString("*a,")
	}
	b.WriteString("]\n")
	return b.String()
}

// TestTaskSpecs_CostIsWhatIsKept: a task.yaml's cost is what its decoded
// problems hold, not its size in bytes. It was its size: a token's
// uploads of 35 KB task.yaml files whose aliases decode to 40 MB each
// were kept by the hundred within the 8 MiB budget of its name (some
// 9 GB for one token). Such a task is now refused, 413, as it could not
// be kept to run its jobs (400: taskfile refuses its aliases first).
func TestTaskSpecs_CostIsWhatIsKept(t *testing.T) {
	e := newEnv(t, Options{AdminToken: testToken})
	e.waitReady()
	front := []string{"Authorization", "Bearer " + e.token(apitoken.RoleFrontend, "course-a")}
	kept := func() (n int) {
		e.srv.specs.mu.Lock()
		defer e.srv.specs.mu.Unlock()
		for _, o := range e.srv.specs.owners {
			n += o.lru.Len()
		}
		return n
	}
	before := kept()
	for i := range 3 {
		status, data := e.call("POST", "/api/v1/tasks", "application/gzip",
			bytes.NewReader(tarGz(t, map[string]string{"task.yaml": aliasTaskYAML(i), "run": "#!/bin/sh\n"}, nil)), front...)
		// 413 for its cost, or 400 since taskfile bounds what aliases
		// expand to before they are decoded.
		if status != 413 && (status != 400 || !strings.Contains(string(data), "aliases expand")) || !strings.Contains(string(data), "task.yaml") {
			t.Errorf("POST tasks: %d %s, want 413, or 400 for its aliases", status, data)
		}
	}
	if n := kept() - before; n > 0 {
		t.Errorf("%d such specs kept", n)
	}
}
