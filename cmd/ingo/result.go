package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ingo-grader/ingo/messages"
)

// resultJSON is a result as DESIGN.md §6 shows it, keys in that order; the
// CLI and the HTTP API print the same form.
type resultJSON struct {
	JobID    string                     `json:"job_id"`
	Status   messages.Status            `json:"status"`
	Text     string                     `json:"text"`
	Grade    float64                    `json:"grade"`
	Problems map[string]messages.Result `json:"problems"`
	Tests    map[string]any             `json:"tests"`
	Custom   map[string]any             `json:"custom"`
	State    string                     `json:"state"`
	// Archive is the base64 of the tgz, or null when there is none.
	Archive *string `json:"archive"`
	Stdout  string  `json:"stdout"`
	Stderr  string  `json:"stderr"`
}

func newResultJSON(r *messages.BackendJobDone) resultJSON {
	out := resultJSON{
		JobID:    r.JobID,
		Status:   r.Result.Status,
		Text:     r.Result.Text,
		Grade:    r.Grade,
		Problems: r.Problems,
		Tests:    r.Tests,
		Custom:   r.Custom,
		State:    r.State,
		Stdout:   r.Stdout,
		Stderr:   r.Stderr,
	}
	// Empty objects rather than null: consumers index into them.
	if out.Problems == nil {
		out.Problems = map[string]messages.Result{}
	}
	if out.Tests == nil {
		out.Tests = map[string]any{}
	}
	if out.Custom == nil {
		out.Custom = map[string]any{}
	}
	if len(r.Archive) > 0 {
		s := base64.StdEncoding.EncodeToString(r.Archive)
		out.Archive = &s
	}
	return out
}

// printJSON writes v as indented JSON followed by a newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Feedback is often HTML or RST: keep <, > and & readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// printResult writes a result for people: a few aligned lines, the
// problems, then the feedback text as the grader wrote it.
func printResult(w io.Writer, r *messages.BackendJobDone) error {
	t := newTable(w)
	t.row("job", r.JobID)
	t.row("status", string(r.Result.Status))
	t.row("grade", strconv.FormatFloat(r.Grade, 'f', -1, 64))
	for _, pid := range slices.Sorted(maps.Keys(r.Problems)) {
		p := r.Problems[pid]
		t.row("problem "+pid, string(p.Status)+oneLine(p.Text))
	}
	if len(r.Archive) > 0 {
		t.row("archive", fmt.Sprintf("%d bytes (use --json to get it)", len(r.Archive)))
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
		if _, err := fmt.Fprintf(w, "\n%s\n", strings.TrimRight(block.text, "\n")); err != nil {
			return err
		}
	}
	return nil
}

// oneLine shortens a problem's feedback to fit a table row.
func oneLine(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return ""
	}
	if len(text) > 72 {
		text = text[:69] + "..."
	}
	return "  " + text
}
