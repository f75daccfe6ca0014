package api

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestLastEventIDPastTheEnd: a Last-Event-ID past a job's events resumes
// after all of them. Before, the largest int wrapped around to a negative
// index: a panic (recovered, its stack logged) for any token holder's
// request on its own job.
func TestLastEventIDPastTheEnd(t *testing.T) {
	var logs testutil.SyncBuffer
	e := newEnv(t, Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	e.waitReady()
	if status, data := e.postJSON("/api/v1/jobs", e.job(map[string]any{"job_id": "lei-1"})); status != 202 {
		t.Fatalf("submit: %d %s", status, data)
	}
	e.events("/api/v1/jobs/lei-1/events") // until done
	for _, id := range []string{"9223372036854775807", "9223372036854775806", "1000000"} {
		if got := e.eventsWith("/api/v1/jobs/lei-1/events", "Last-Event-ID", id); len(got) != 0 {
			t.Errorf("Last-Event-ID %s: %d events, want none", id, len(got))
		}
	}
	if strings.Contains(logs.String(), "panic") {
		t.Errorf("the API panicked: %s", logs.String())
	}
	if got := e.eventsWith("/api/v1/jobs/lei-1/events", "Last-Event-ID", "0"); len(got) == 0 || got[len(got)-1].name != "done" {
		t.Errorf("Last-Event-ID 0: %v, want the events after the first, done last", got)
	}
}
