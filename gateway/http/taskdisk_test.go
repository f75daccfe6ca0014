package api

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// Task folders being unpacked at once are bounded on disk: with the
// budget taken (as sixteen small gzip bombs unpacking would), another
// upload waits, and gives up with 503 busy when its client does; once the
// budget is free it is stored, and its folder's share is given back when
// its request ends. Before, each unpacked at once, whatever the others
// held.
func TestTaskFoldersUnpackWithinTheirBudget(t *testing.T) {
	e := newEnv(t, Options{})
	archive := tarGz(t, map[string]string{"run": "#!/bin/sh\nfeedback-result success\n"}, nil)
	if err := e.srv.taskDisk.Acquire(t.Context(), taskDiskBudget); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, "POST", "/api/v1/tasks", bytes.NewReader(archive))
	req.Header.Set("Content-Type", "application/gzip")
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"busy"`) {
		t.Errorf("an upload while the budget is taken: %d %s, want 503 busy", rec.Code, rec.Body)
	}
	e.srv.taskDisk.Release(taskDiskBudget)
	if status, data := e.call("POST", "/api/v1/tasks", "application/gzip", bytes.NewReader(archive)); status != 201 {
		t.Fatalf("the upload once the budget is free: %d %s", status, data)
	}
	// The handler gives it back as it returns, after the answer was sent.
	testutil.Eventually(t, wait, func() bool { return e.srv.taskDisk.TryAcquire(taskDiskBudget) },
		"the folder's share given back after its request ended")
}
