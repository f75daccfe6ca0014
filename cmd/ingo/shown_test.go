package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/taskfile"
	"github.com/ingo-grader/ingo/internal/termsafe"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestPrintedTextObeysNothing prints what others wrote through every
// human form of the CLI: a terminal would act on none of it, and a
// reader still sees it.
func TestPrintedTextObeysNothing(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_800_000_000_000)
	done := &messages.BackendJobDone{JobID: "j1", JobResult: messages.JobResult{
		Result:   messages.Result{Status: messages.StatusFailed, Text: "Your output:\n" + testutil.HostileText},
		Problems: map[string]messages.Result{"q" + testutil.HostileText: {Status: messages.StatusFailed, Text: testutil.HostileText}},
		Stdout:   testutil.HostileText, Stderr: testutil.HostileText,
	}}
	queue := &messages.BackendGetQueue{
		JobsRunning: []messages.QueueRunningJob{{JobID: "r1", EnvironmentType: "docker", Environment: "default" + testutil.HostileText,
			Info: testutil.HostileText, Agent: "agent" + testutil.HostileText, StartedAt: now.UnixMilli()}},
		JobsWaiting: []messages.QueueWaitingJob{
			{JobID: "w1", EnvironmentType: "docker", Environment: "default", Info: testutil.HostileText, Launcher: testutil.HostileText, QueuedAt: now.UnixMilli()},
			{JobID: "w2", EnvironmentType: "docker", Environment: "x" + testutil.HostileText, QueuedAt: now.UnixMilli()},
		},
		Summary: &messages.QueueSummary{Running: 1, Waiting: 2, Counts: []messages.QueueCount{
			{EnvironmentType: "docker", Environment: "default", ClientID: "api", Frontend: testutil.HostileText, CourseID: testutil.HostileText, Waiting: 1},
			{EnvironmentType: "docker", Environment: "x", CourseID: "c", Waiting: 1},
		}},
	}
	run := &sampleRun{sample: taskfile.Sample{Name: testutil.HostileText, Path: "tests/" + testutil.HostileText}, mismatches: []string{"feedback " + testutil.HostileText},
		result: &resultJSON{Status: "failed", Text: testutil.HostileText, Stdout: testutil.HostileText, Stderr: testutil.HostileText}}

	for _, tc := range []struct {
		name  string
		print func(*bytes.Buffer) error
	}{
		{"result", func(b *bytes.Buffer) error { return printResult(b, done) }},
		{"result JSON", func(b *bytes.Buffer) error { return printJSON(b, newResultJSON(done)) }},
		{"queue", func(b *bytes.Buffer) error { return printQueue(b, queue, now) }},
		{"queue JSON line", func(b *bytes.Buffer) error { return printJSONLine(b, queueJSON(queue)) }},
		{"task test failures", func(b *bytes.Buffer) error {
			a := &app{stdout: b}
			return a.printFailures([]*sampleRun{run}, true)
		}},
		{"task check", func(b *bytes.Buffer) error {
			// A task.yaml from elsewhere (a shared repository of tasks).
			return printCheck(b, checkReport{Dir: "tasks/" + testutil.HostileText, Environment: "docker/" + testutil.HostileText,
				Findings: []taskfile.Finding{{File: testutil.HostileText, Message: testutil.HostileText}}})
		}},
		{"error", func(b *bytes.Buffer) error {
			// What main prints of an error whose text names a course.
			b.WriteString("ingo: " + termsafe.Block(errors.New("no course "+testutil.HostileText).Error()))
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.print(&b); err != nil {
				t.Fatal(err)
			}
			if c := testutil.Obeyed(b.String()); c != "" {
				t.Errorf("a terminal obeys %q in:\n%q", c, b.String())
			}
			for _, seen := range []string{"]52;c;cm0gLXJmIH4K", "status: success"} {
				if !strings.Contains(b.String(), seen) {
					t.Errorf("%q is not shown:\n%q", seen, b.String())
				}
			}
		})
	}
}
