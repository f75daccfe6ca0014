package jobjson

import (
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// Record is a job of the history as the CLI (ingo result --json, ingo
// jobs --json) and the HTTP API (GET /api/v1/jobs) print it. Result is
// the whole result for one job, null in a listing.
type Record struct {
	JobID           string          `json:"job_id"`
	Status          messages.Status `json:"status"`
	Grade           float64         `json:"grade"`
	CourseID        string          `json:"course_id"`
	TaskID          string          `json:"task_id"`
	User            string          `json:"user"`
	ClientID        string          `json:"client_id"`
	Launcher        string          `json:"launcher"`
	EnvironmentType string          `json:"environment_type"`
	Environment     string          `json:"environment"`
	Agent           string          `json:"agent"`
	Attempts        int             `json:"attempts"`
	SubmittedAt     time.Time       `json:"submitted_at"`
	StartedAt       *time.Time      `json:"started_at"`
	FinishedAt      time.Time       `json:"finished_at"`
	// Wait is the seconds from submission to the last attempt's start.
	Wait *float64 `json:"wait"`
	// ArchiveDropped is the size of an archive too large to keep.
	ArchiveDropped int64 `json:"archive_dropped,omitempty"`
	// Usage is the result's, also in a listing, where Result is null.
	Usage  *messages.Usage `json:"usage"`
	Result *Result         `json:"result"`
}

// NewRecord converts a history record into its JSON form.
func NewRecord(r *messages.JobRecord) Record {
	out := Record{
		JobID: r.JobID, Status: r.Result.Status, Grade: r.Grade, CourseID: r.CourseID, TaskID: r.TaskID,
		User: r.User, ClientID: r.ClientID, Launcher: r.Launcher, EnvironmentType: r.EnvironmentType,
		Environment: r.Environment, Agent: r.Agent, Attempts: r.Attempts,
		SubmittedAt: time.UnixMilli(r.SubmittedAt).UTC(), FinishedAt: time.UnixMilli(r.FinishedAt).UTC(),
		ArchiveDropped: r.ArchiveDropped, Usage: r.Usage,
	}
	if r.StartedAt > 0 {
		t := time.UnixMilli(r.StartedAt).UTC()
		w := float64(r.StartedAt-r.SubmittedAt) / 1000
		out.StartedAt, out.Wait = &t, &w
	}
	if !r.Summary {
		res := NewResult(&messages.BackendJobDone{JobID: r.JobID, JobResult: r.JobResult})
		out.Result = &res
	}
	return out
}
