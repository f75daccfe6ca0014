package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ingo-grader/ingo/internal/jobjson"
	"github.com/ingo-grader/ingo/internal/termsafe"
	"github.com/ingo-grader/ingo/messages"
)

// The result JSON of DESIGN.md §6 lives in internal/jobjson, shared with
// the HTTP API so that both print the same form.
type resultJSON = jobjson.Result

func newResultJSON(r *messages.BackendJobDone) resultJSON { return jobjson.NewResult(r) }

// printResult writes a result for people: a few aligned lines, the
// problems, then the feedback text as the grader wrote it.
func printResult(w io.Writer, r *messages.BackendJobDone) error {
	t := newTable(w)
	t.row("job", r.JobID)
	t.row("status", string(r.Result.Status))
	t.row("grade", strconv.FormatFloat(r.Grade, 'f', -1, 64))
	for _, pid := range slices.Sorted(maps.Keys(r.Problems)) {
		p := r.Problems[pid]
		t.row("problem "+pid, string(p.Status)+prefixed("  ", oneLineText(p.Text, 72)))
	}
	if len(r.Archive) > 0 {
		t.row("archive", fmt.Sprintf("%d bytes (use --json to get it)", len(r.Archive)))
	}
	if u := r.Usage; u != nil {
		if used := usageText(u.CPUTime, u.MemoryPeak, u.WallTime); used != "" {
			t.row("used", used)
		}
		if s := u.Students; s != nil {
			t.row("students", studentCount(s.Containers)+
				prefixed(", ", usageText(s.CPUTime, s.MemoryPeak, s.WallTime)))
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, block := range []struct{ title, text string }{
		{"", r.Result.Text}, {"stdout", r.Stdout}, {"stderr", r.Stderr},
	} {
		if strings.TrimSpace(block.text) == "" {
			continue
		}
		if block.title != "" {
			block.text = "--- " + block.title + "\n" + block.text
		}
		if _, err := fmt.Fprintf(w, "\n%s\n", termsafe.Block(strings.TrimRight(block.text, "\n"))); err != nil {
			return err
		}
	}
	return nil
}

// usageText says what a container used, as "1.02 s CPU, 53 MiB peak,
// 1.3 s wall", leaving out what is not known (0).
func usageText(cpu, peakMiB, wall float64) string {
	var parts []string
	if cpu > 0 {
		parts = append(parts, strconv.FormatFloat(cpu, 'f', 2, 64)+" s CPU")
	}
	if peakMiB > 0 {
		parts = append(parts, strconv.FormatFloat(peakMiB, 'f', 0, 64)+" MiB peak")
	}
	if wall > 0 {
		parts = append(parts, strconv.FormatFloat(wall, 'f', 1, 64)+" s wall")
	}
	return strings.Join(parts, ", ")
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func studentCount(n int) string {
	if n == 1 {
		return "1 container"
	}
	return strconv.Itoa(n) + " containers"
}
