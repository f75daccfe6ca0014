package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/internal/taskfile"
	"github.com/ingo-grader/ingo/internal/termsafe"
	"github.com/ingo-grader/ingo/messages"
)

// sampleJSON is one test of `ingo task test --json`.
type sampleJSON struct {
	Name       string               `json:"name"`
	File       string               `json:"file"`
	Outcome    string               `json:"outcome"` // pass, fail, error
	Expected   taskfile.Expectation `json:"expected"`
	JobID      string               `json:"job_id,omitempty"`
	Got        *gotJSON             `json:"got,omitempty"`
	Time       float64              `json:"time"`
	Mismatches []string             `json:"mismatches"`
	Error      string               `json:"error,omitempty"`
}

// gotJSON is the part of a result a test compares (the whole result,
// archive included, would make CI logs unreadable).
type gotJSON struct {
	Status   messages.Status            `json:"status"`
	Grade    float64                    `json:"grade"`
	Text     string                     `json:"text"`
	Problems map[string]messages.Result `json:"problems"`
	Stdout   string                     `json:"stdout,omitempty"`
	Stderr   string                     `json:"stderr,omitempty"`
}

type samplesJSON struct {
	Tests  []sampleJSON `json:"tests"`
	Passed int          `json:"passed"`
	Failed int          `json:"failed"`
	Errors int          `json:"errors"`
	Time   float64      `json:"time"`
}

func (r sampleRun) outcome() string {
	switch {
	case r.err != nil:
		return "error"
	case len(r.mismatches) > 0:
		return "fail"
	}
	return "pass"
}

func (a *app) printSampleRuns(runs []*sampleRun, took time.Duration, o taskTestOptions) error {
	slices.SortFunc(runs, func(x, y *sampleRun) int { return strings.Compare(x.sample.Name, y.sample.Name) })
	out := samplesJSON{Time: took.Seconds()}
	for _, r := range runs {
		j := sampleJSON{Name: r.sample.Name, File: r.sample.Path, Outcome: r.outcome(), Expected: r.sample.Expect,
			JobID: r.jobID, Time: r.took.Seconds(), Mismatches: r.mismatches}
		if j.Mismatches == nil {
			j.Mismatches = []string{}
		}
		if r.err != nil {
			j.Error = r.err.Error()
		}
		if res := r.result; res != nil {
			j.Got = &gotJSON{Status: res.Status, Grade: res.Grade, Text: res.Text, Problems: res.Problems, Stdout: res.Stdout, Stderr: res.Stderr}
		}
		switch j.Outcome {
		case "pass":
			out.Passed++
		case "fail":
			out.Failed++
		default:
			out.Errors++
		}
		out.Tests = append(out.Tests, j)
	}
	if o.json {
		return printJSON(a.stdout, out)
	}
	t := newTable(a.stdout)
	t.row("TEST", "EXPECTED", "GOT", "TIME", "RESULT")
	for _, r := range runs {
		got, verdict := "-", "PASS"
		if r.result != nil {
			got = string(r.result.Status) + " " + taskfile.FormatGrade(r.result.Grade)
		}
		switch {
		case r.err != nil:
			verdict = "ERROR " + oneLineText(r.err.Error(), 100)
		case len(r.mismatches) > 0:
			verdict = "FAIL " + oneLineText(r.mismatches[0], 100)
		}
		t.row(r.sample.Name, r.sample.Expect.String(), got, r.took.Round(100*time.Millisecond).String(), verdict)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(a.stdout, "\n%d passed, %d failed, %d errors in %v\n",
		out.Passed, out.Failed, out.Errors, took.Round(100*time.Millisecond)); err != nil {
		return err
	}
	return a.printFailures(runs, o.debug)
}

// printFailures details each failed test: every mismatch, the feedback,
// and in debug mode the grader's output.
func (a *app) printFailures(runs []*sampleRun, debug bool) error {
	for _, r := range runs {
		if r.passed() || r.err != nil && r.result == nil && len(r.err.Error()) <= 100 {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "\n--- %s (%s)\n", termsafe.Line(r.sample.Name), termsafe.Line(r.sample.Path))
		if r.err != nil {
			fmt.Fprintf(&b, "    %s\n", indent(r.err.Error()))
		}
		for _, m := range r.mismatches {
			fmt.Fprintf(&b, "    %s\n", indent(m))
		}
		if res := r.result; res != nil {
			if text := strings.TrimSpace(res.Text); text != "" {
				fmt.Fprintf(&b, "    feedback: %s\n", indent(text))
			}
			if debug {
				fmt.Fprintf(&b, "    stdout: %s\n    stderr: %s\n", indent(res.Stdout), indent(res.Stderr))
			}
		}
		if _, err := fmt.Fprint(a.stdout, b.String()); err != nil {
			return err
		}
	}
	return nil
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "(empty)"
	}
	return strings.ReplaceAll(termsafe.Block(s), "\n", "\n      ")
}

// oneLineText fits a message in a table cell, its controls made visible
// (termsafe.Line) before it is cut, so that a cut never splits an escape.
func oneLineText(s string, n int) string {
	s = strings.Join(strings.Fields(termsafe.Line(s)), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-3]) + "..."
	}
	return s
}
