package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// TestPrintQueue_Summary: a snapshot cut at the backend's bound says how
// many jobs there are in all and which are shown, with the counts per
// environment and course first.
func TestPrintQueue_Summary(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_800_000_000_000)
	q := &messages.BackendGetQueue{
		JobsWaiting: []messages.QueueWaitingJob{{JobID: "w1", EnvironmentType: "docker", Environment: "default", Position: 1, QueuedAt: now.UnixMilli()}},
		Summary: &messages.QueueSummary{Waiting: 120_000, Truncated: true, Counts: []messages.QueueCount{
			{EnvironmentType: "docker", Environment: "default", CourseID: "algo", Waiting: 100_000},
			{EnvironmentType: "docker", Environment: "toolchain", CourseID: "java", Waiting: 20_000},
		}},
	}
	var b strings.Builder
	if err := printQueue(&b, q, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"docker/default", "algo", "100000", "docker/toolchain", "java", "20000",
		"running: 0\n", "waiting: 120000 (the first 1)", "w1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "java") > strings.Index(out, "waiting:") {
		t.Errorf("counts should come before the lists:\n%s", out)
	}
}
