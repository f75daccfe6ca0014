package jobjson

import (
	"encoding/base64"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// Result is a result as DESIGN.md §6 shows it, keys in that order; the CLI
// and the HTTP API print the same form.
type Result struct {
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
	// Usage is what the job used (wall_time and cpu_time in seconds,
	// memory_peak in MiB, students summed), or null when unknown.
	Usage *messages.Usage `json:"usage"`
}

// NewResult converts a backend result into its JSON form.
func NewResult(r *messages.BackendJobDone) Result {
	out := Result{
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
		Usage:    r.Usage,
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

// MetaInputs are the @-keys INGInious' frontend puts in every submission;
// graders read them with getinput (e.g. @lang to choose the feedback
// language). Callers add each one the submitter did not give.
func MetaInputs(username string, now time.Time) map[string]any {
	return map[string]any{
		"@username": username,
		"@email":    "",
		"@lang":     "en",
		"@time":     now.Format("2006-01-02 15:04:05.000000"),
		"@attempts": "1",
		"@state":    "",
	}
}
