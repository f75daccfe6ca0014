package frontendclient

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

func taskDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestUploadTask(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	taskA := taskDir(t, map[string]string{"run": "#!/bin/sh\nfeedback-result success\n", "task.yaml": "name: A\n"})
	sameAsA := taskDir(t, map[string]string{"run": "#!/bin/sh\nfeedback-result success\n", "task.yaml": "name: A\n"})
	taskB := taskDir(t, map[string]string{"run": "#!/bin/sh\nfeedback-result failed\n", "lib/x.py": "x = 1\n"})
	tests := []struct {
		name     string
		dir      string
		uploaded int64 // BundlesUploaded after this step
		sameAs   int   // index of an earlier step with the same digest, or -1
	}{
		{"first upload", taskA, 1, -1},
		{"same folder again", taskA, 1, 0},
		{"same content elsewhere", sameAsA, 1, 0},
		{"another task", taskB, 2, -1},
		{"another task again", taskB, 2, 3},
	}
	digests := make([]string, len(tests))
	for i, tt := range tests {
		ctx, cancel := contextWithGuard(t)
		d, err := e.c.UploadTask(ctx, tt.dir)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		digests[i] = d
		if err := bundle.ValidateDigest(d); err != nil {
			t.Errorf("%s: digest %q: %v", tt.name, d, err)
		}
		if got := e.c.Stats().BundlesUploaded; got != tt.uploaded {
			t.Errorf("%s: BundlesUploaded = %d, want %d", tt.name, got, tt.uploaded)
		}
		if tt.sameAs >= 0 && d != digests[tt.sameAs] {
			t.Errorf("%s: digest %s, want %s", tt.name, d, digests[tt.sameAs])
		}
	}
	if digests[0] == digests[3] {
		t.Error("two different tasks have one digest")
	}
	// An agent can fetch what was uploaded, verified, as this client's.
	store, err := bundle.OpenStore(e.nc, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{digests[0], digests[3]} {
		if _, err := store.Get(t.Context(), e.c.ID(), d, 0); err != nil {
			t.Errorf("Get(%s): %v", d, err)
		}
	}
	// A job naming an uploaded digest says which upload it was.
	req := jobRequest("")
	req.TaskBundle = digests[3]
	j := submit(t, e.c, req)
	_, m := expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })
	if m.TaskBundleMeta == 0 {
		t.Error("a job naming an uploaded bundle does not name its metadata")
	}
}

func TestNewJobWithTaskDir(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	dir := taskDir(t, map[string]string{"run": "#!/bin/sh\n"})
	var first string
	for i := range 2 {
		req := jobRequest("")
		req.TaskDir = dir
		j := submit(t, e.c, req)
		_, m := expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })
		if bundle.ValidateDigest(m.TaskBundle) != nil || m.TaskBundleMeta == 0 {
			t.Fatalf("job %d carries task bundle %q, metadata %d", i, m.TaskBundle, m.TaskBundleMeta)
		}
		if i == 0 {
			first = m.TaskBundle
		} else if m.TaskBundle != first {
			t.Errorf("same folder, bundles %s and %s", first, m.TaskBundle)
		}
	}
	if got := e.c.Stats().BundlesUploaded; got != 1 {
		t.Errorf("BundlesUploaded = %d, want 1", got)
	}
}

func TestUploadTaskRefused(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		name string
		dir  string
		is   error
	}{
		{"missing folder", filepath.Join(t.TempDir(), "nope"), os.ErrNotExist},
		{"symbolic link inside", func() string {
			dir := taskDir(t, map[string]string{"run": "x"})
			if err := os.Symlink("/etc/passwd", filepath.Join(dir, "escape")); err != nil {
				t.Skip(err)
			}
			return dir
		}(), bundle.ErrUnsupportedFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.c.UploadTask(t.Context(), tt.dir)
			if !errors.Is(err, tt.is) {
				t.Errorf("UploadTask = %v, want %v", err, tt.is)
			}
			req := jobRequest("")
			req.TaskDir = tt.dir
			if _, err := e.c.NewJob(t.Context(), req); !errors.Is(err, tt.is) {
				t.Errorf("NewJob = %v, want %v", err, tt.is)
			}
		})
	}
}

// TestUploadTaskPacksFewAtOnce: packing holds a folder's bundle in
// memory, and the INGInious bridge packs for every job a webapp sends, in
// a goroutine each: forty job messages of 350 bytes naming a course with
// 30 MB in its $common took the bridge to 1.9 GB. A client packs
// maxPacks folders at once; the others wait their turn.
func TestUploadTaskPacksFewAtOnce(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	noise := make([]byte, 4<<20)
	rand.Read(noise)
	dir := taskDir(t, map[string]string{"run": "#!/bin/sh\n", "big.bin": string(noise)})
	noise = nil

	base, peak := testutil.HeapGrowth(func() {
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				// Gzip under -race takes its time: the turns may be long.
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
				defer cancel()
				if _, err := e.c.UploadTask(ctx, dir); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	})
	grew := int64(peak) - int64(base)
	t.Logf("heap: peak +%d MiB while packing a 4 MiB folder twelve times at once", grew>>20)
	if grew > 80<<20 {
		t.Errorf("the heap grew by %d MiB, over 80 MiB", grew>>20)
	}
}

// TestUploadTaskReusesAnUnchangedFolder: a folder packed before is not
// read again while its stamp (bundle.StampCourse) is the same, and is
// packed again once a file changed, even one rewritten with its size and
// modification time kept; a folder changed within the last seconds is
// always packed (its stamp may not show a change made in the clock's
// same step).
func TestUploadTaskReusesAnUnchangedFolder(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	dir := taskDir(t, map[string]string{"run": "#!/bin/sh\necho 1\n", "task.yaml": "name: A\n"})
	old := time.Now().Add(-time.Hour)
	age := func() {
		t.Helper()
		for _, name := range []string{"run", "task.yaml"} {
			if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	upload := func() string {
		t.Helper()
		ctx, cancel := contextWithGuard(t)
		defer cancel()
		d, err := e.c.UploadTask(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	age()
	first := upload()
	if again := upload(); again != first || e.c.Stats().BundlesReused != 1 {
		t.Fatalf("unchanged folder: digest %s (was %s), %d reused, want the same and 1", again, first, e.c.Stats().BundlesReused)
	}
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\necho 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	age()
	changed := upload()
	if changed == first || e.c.Stats().BundlesReused != 1 {
		t.Errorf("a file rewritten, size and time kept: digest %s (was %s), %d reused, want another and 1", changed, first, e.c.Stats().BundlesReused)
	}
	if err := os.WriteFile(filepath.Join(dir, "task.yaml"), []byte("name: B\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := upload()
	if again := upload(); again != fresh || e.c.Stats().BundlesReused != 1 {
		t.Errorf("a folder changed just now: %d reused, want it packed each time (still 1)", e.c.Stats().BundlesReused)
	}
}
