package api

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// TestStoreBound: past JobMemory the oldest finished jobs go first; jobs
// still running and the newest result stay.
func TestStoreBound(t *testing.T) {
	t.Parallel()
	st := newStore(8 << 10)
	now := time.Now()
	st.add("running", "", "", now)
	for _, id := range []string{"a", "b", "c"} {
		st.add(id, "", "", now)
		st.done(&messages.BackendJobDone{JobID: id, JobResult: messages.JobResult{
			Result: messages.Result{Status: messages.StatusSuccess, Text: strings.Repeat("x", 3<<10)}}}, now)
	}
	for id, want := range map[string]bool{"running": true, "a": false, "b": true, "c": true} {
		if known, _ := st.has(id); known != want {
			t.Errorf("%s kept = %v, want %v", id, known, want)
		}
	}
	if n, b := st.size(); n != 3 || b > 8<<10 {
		t.Errorf("size %d jobs, %d bytes", n, b)
	}
	// A result larger than the whole bound is kept until the next one.
	st.done(&messages.BackendJobDone{JobID: "huge", JobResult: messages.JobResult{Archive: make([]byte, 16<<10)}}, now)
	if known, _ := st.has("huge"); !known {
		t.Error("the newest result was evicted")
	}
	// A second result for a job is ignored.
	st.done(&messages.BackendJobDone{JobID: "huge"}, now)
	if v, _, _ := st.view("huge"); !strings.Contains(string(v.Result), `"archive":"AAAA`) {
		t.Error("a duplicate result replaced the first")
	}
}

// TestExtractPlainTar: an uncompressed tar is accepted like a tar.gz, and
// the "./" of `tar cf t.tar -C DIR .` is dropped.
func TestExtractPlainTar(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range taskFiles {
		if err := tw.WriteHeader(&tar.Header{Name: "./" + name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(content))
	}
	tw.Close()
	dir := t.TempDir()
	f, err := os.CreateTemp(dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(buf.Bytes())
	if err := extractTask(f, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "out", "run")); err != nil || string(b) != taskFiles["run"] {
		t.Errorf("run: %q %v", b, err)
	}
}

// TestTaskRoot: an archive of the folder itself ("hello/...") holds the
// task one level down.
func TestTaskRoot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "hello"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := taskRoot(dir); got != filepath.Join(dir, "hello") {
		t.Errorf("taskRoot = %s", got)
	}
	os.WriteFile(filepath.Join(dir, "task.yaml"), nil, 0o644)
	if got := taskRoot(dir); got != dir {
		t.Errorf("taskRoot with a file = %s", got)
	}
}

func TestIDToken(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"web-1.example.org": "web-1-example-org", "": "local"} {
		if got := idToken(in); got != want {
			t.Errorf("idToken(%q) = %q, want %q", in, got, want)
		}
	}
	long := "ingo-api-" + idToken(strings.Repeat("h", 500))
	if err := messages.ValidateID(long); err != nil {
		t.Error(err)
	}
}
