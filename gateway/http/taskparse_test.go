package api

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/taskfile"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestConcurrentTaskYAMLMemory: a task.yaml within taskfile's bounds of
// small mappings costs the parser about 25 MB, from a .tar.gz of 700
// bytes, which the upload budget (counting bodies) does not see: twelve
// uploads at once took the API 300 MB. They are parsed a few at a time
// (maxTaskParses).
func TestConcurrentTaskYAMLMemory(t *testing.T) {
	e := newEnv(t, Options{UploadWait: 5 * time.Minute})
	e.waitReady()
	yaml := "problems:\n  p:\n" + strings.Repeat("  - a:\n     b:\n      c:\n", taskfile.MaxIndicators/4-10)
	archive := tarGz(t, map[string]string{"task.yaml": yaml, "run": "#!/bin/sh\n"}, nil)

	base, peak := testutil.HeapGrowth(func() {
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", e.url+"/api/v1/tasks", bytes.NewReader(archive))
				req.Header.Set("Authorization", "Bearer "+testToken)
				req.Header.Set("Content-Type", "application/gzip")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("upload %d: %v", i, err)
					return
				}
				defer resp.Body.Close()
				data, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("upload %d: %d %.300s", i, resp.StatusCode, data)
				}
			})
		}
		wg.Wait()
	})
	grew := int64(peak) - int64(base)
	t.Logf("heap: %d MiB before, peak %d MiB (+%d MiB) during twelve uploads of a %d-byte task archive", base>>20, peak>>20, grew>>20, len(archive))
	if grew > 100<<20 {
		t.Errorf("the heap grew by %d MiB, over 100 MiB", grew>>20)
	}
}
