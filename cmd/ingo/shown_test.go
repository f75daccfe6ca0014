package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ingo-grader/ingo/internal/taskfile"
	"github.com/ingo-grader/ingo/messages"
)

// hostile is what a student's program can print, or a web app name a
// course, task or user: a clipboard write (OSC 52), a screen clear, a
// cursor move up over the lines above, a C1 control sequence introducer,
// a right-to-left override, a bare carriage return and a byte that is not
// UTF-8.
const hostile = "A\x1b]52;c;cm0gLXJmIH4K\x07B\x1b[2J\x1b[1AC\u009b2JD\u202eE\rstatus: success\xffF\x00\x7f"

// obeyedIn returns the first character of out a terminal would act on, or
// "" if none: out is what a person sees, whatever it quotes.
func obeyedIn(out string) string {
	for i, r := range out {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(out[i:], "\uFFFD"):
			return out[i : i+1]
		case r == '\n' || r == '\t':
		case obeyed(r):
			return string(r)
		}
	}
	return ""
}

func TestLineAndBlockText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, line, block string
	}{
		{"plain", "Hello, Ada!", "Hello, Ada!", "Hello, Ada!"},
		{"accents and CJK stay", "Grüße 你好 ✓", "Grüße 你好 ✓", "Grüße 你好 ✓"},
		{"lines", "a\nb\tc", "a b c", "a\nb\tc"},
		{"CRLF is a line end", "a\r\nb", "a b", "a\nb"},
		{"bare CR is shown", "failed\rsuccess", `failed\rsuccess`, `failed\rsuccess`},
		{"OSC 52", "\x1b]52;c;eA==\x07", `\x1b]52;c;eA==\x07`, `\x1b]52;c;eA==\x07`},
		{"CSI", "\x1b[2J\x1b[1A", `\x1b[2J\x1b[1A`, `\x1b[2J\x1b[1A`},
		{"C1 CSI", "\u009b2J", `\u009b2J`, `\u009b2J`},
		{"bidi override", "abc\u202edef\u2066", `abc\u202edef\u2066`, `abc\u202edef\u2066`},
		{"not UTF-8", "a\xffb\xc3", `a\xffb\xc3`, `a\xffb\xc3`},
		{"NUL and DEL", "a\x00b\x7f", `a\x00b\x7f`, `a\x00b\x7f`},
		{"backslashes stay", `\frac{1}{2} C:\x`, `\frac{1}{2} C:\x`, `\frac{1}{2} C:\x`},
		{"replacement character stays", "\uFFFD", "\uFFFD", "\uFFFD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lineText(tc.in); got != tc.line {
				t.Errorf("lineText(%q) = %q, want %q", tc.in, got, tc.line)
			}
			if got := blockText(tc.in); got != tc.block {
				t.Errorf("blockText(%q) = %q, want %q", tc.in, got, tc.block)
			}
			if c := obeyedIn(lineText(tc.in) + blockText(tc.in)); c != "" {
				t.Errorf("%q left %q", tc.in, c)
			}
		})
	}
}

// TestJSONShownKeepsTheValue: the C1 escapes of printJSON decode to the
// same strings, and nothing else changes.
func TestJSONShownKeepsTheValue(t *testing.T) {
	t.Parallel()
	in := map[string]string{"text": "é\u0085\u009b2J\u00a0<b>" + "\x1b[2J", "name": "ĉ"}
	var b bytes.Buffer
	if err := printJSON(&b, in); err != nil {
		t.Fatal(err)
	}
	if c := obeyedIn(b.String()); c != "" {
		t.Errorf("printJSON left %q in %s", c, b.String())
	}
	if !strings.Contains(b.String(), `\u009b2J`) || !strings.Contains(b.String(), "<b>") {
		t.Errorf("printJSON wrote %s", b.String())
	}
	var back map[string]string
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back["text"] != in["text"] || back["name"] != in["name"] {
		t.Errorf("decoded %q (%v), want %q", back, err, in)
	}
}

// TestPrintedTextObeysNothing prints what others wrote through every
// human form of the CLI: a terminal would act on none of it, and a
// reader still sees it.
func TestPrintedTextObeysNothing(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_800_000_000_000)
	done := &messages.BackendJobDone{JobID: "j1", JobResult: messages.JobResult{
		Result:   messages.Result{Status: messages.StatusFailed, Text: "Your output:\n" + hostile},
		Problems: map[string]messages.Result{"q" + hostile: {Status: messages.StatusFailed, Text: hostile}},
		Stdout:   hostile, Stderr: hostile,
	}}
	queue := &messages.BackendGetQueue{
		JobsRunning: []messages.QueueRunningJob{{JobID: "r1", EnvironmentType: "docker", Environment: "default" + hostile,
			Info: hostile, Agent: "agent" + hostile, StartedAt: now.UnixMilli()}},
		JobsWaiting: []messages.QueueWaitingJob{
			{JobID: "w1", EnvironmentType: "docker", Environment: "default", Info: hostile, Launcher: hostile, QueuedAt: now.UnixMilli()},
			{JobID: "w2", EnvironmentType: "docker", Environment: "x" + hostile, QueuedAt: now.UnixMilli()},
		},
		Summary: &messages.QueueSummary{Running: 1, Waiting: 2, Counts: []messages.QueueCount{
			{EnvironmentType: "docker", Environment: "default", CourseID: hostile, Waiting: 1},
			{EnvironmentType: "docker", Environment: "x", CourseID: "c", Waiting: 1},
		}},
	}
	run := &sampleRun{sample: taskfile.Sample{Name: hostile, Path: "tests/" + hostile}, mismatches: []string{"feedback " + hostile},
		result: &resultJSON{Status: "failed", Text: hostile, Stdout: hostile, Stderr: hostile}}

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
		{"error", func(b *bytes.Buffer) error {
			// What main prints of an error whose text names a course.
			b.WriteString("ingo: " + blockText(errors.New("no course "+hostile).Error()))
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.print(&b); err != nil {
				t.Fatal(err)
			}
			if c := obeyedIn(b.String()); c != "" {
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
