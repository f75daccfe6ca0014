package messages

import (
	"fmt"
	"strings"
)

// The job history (an addition: INGInious keeps submissions in its
// webapp's MongoDB, the backend keeps nothing): every finished job's
// record, kept in JetStream by the backend (package backend/history) for
// a retention period, read by any client with ClientGetHistory.

// JobRecord is one finished job as the history keeps it: who submitted
// what, where and when it ran, and its result. Times are Unix
// milliseconds.
type JobRecord struct {
	JobID string `cbor:"job_id"`
	// ClientID is the client that submitted the job (a frontend's NATS
	// name, or an admin client's id).
	ClientID        string `cbor:"client_id"`
	CourseID        string `cbor:"course_id,omitempty"`
	TaskID          string `cbor:"task_id,omitempty"`
	User            string `cbor:"user,omitempty"` // the "@username" input
	Launcher        string `cbor:"launcher,omitempty"`
	EnvironmentType string `cbor:"environment_type"`
	Environment     string `cbor:"environment"`
	// Agent ran the last attempt; empty when the job never left its queue.
	Agent       string `cbor:"agent,omitempty"`
	Attempts    int    `cbor:"attempts,omitempty"`
	SubmittedAt int64  `cbor:"submitted_at"`
	StartedAt   int64  `cbor:"started_at,omitempty"` // the last attempt's dispatch; 0: never
	FinishedAt  int64  `cbor:"finished_at"`
	// ArchiveDropped is the size of an archive over the history's bound,
	// which the record does not keep (Archive is then nil).
	ArchiveDropped int64 `cbor:"archive_dropped,omitempty"`
	// Summary: a listing's record, without the result's text, problems,
	// tests, custom values, state, archive and output; Result.Status and
	// Grade are there.
	Summary bool `cbor:"summary,omitempty"`
	JobResult
}

// Bounds of ClientGetHistory.
const (
	// MaxHistoryPage bounds ClientGetHistory.Limit; a summary takes a few
	// hundred bytes.
	MaxHistoryPage = 1000
	// DefaultHistoryPage is the page size when Limit is 0.
	DefaultHistoryPage = 50
)

// ClientGetHistory asks for one job's record (JobID set) or a page of the
// history, newest first (an addition). A frontend gets its own jobs only;
// an admin every job. Sent as a NATS request on Subjects.HistoryClient or
// Subjects.HistoryAdmin; the answer is BackendHistory, or Error
// (CodeUnknownJob for a job that is not in the history or not the
// sender's, CodeBadRequest, CodeUnavailable).
type ClientGetHistory struct {
	JobID string `cbor:"job_id,omitempty"`
	// Filters of a page: one course, one status, finished at or after
	// Since and before Until (Unix ms; 0: no bound).
	CourseID string `cbor:"course_id,omitempty"`
	Status   Status `cbor:"status,omitempty"`
	Since    int64  `cbor:"since,omitempty"`
	Until    int64  `cbor:"until,omitempty"`
	// Limit of a page (0: DefaultHistoryPage).
	Limit int `cbor:"limit,omitempty"`
	// Cursor is the Next of the previous page; 0 for the first.
	Cursor uint64 `cbor:"cursor,omitempty"`
}

// BackendHistory answers ClientGetHistory: the job asked for (whole), or
// a page of summaries, newest first, and Next, the cursor of the page
// after (0: this was the last).
type BackendHistory struct {
	Jobs []JobRecord `cbor:"jobs"`
	Next uint64      `cbor:"next,omitempty"`
}

// Validate checks a ClientGetHistory's bounds: the backend answers one
// that fails with Error (CodeBadRequest).
func (q *ClientGetHistory) Validate() error {
	switch {
	case q.JobID != "" && ValidateID(q.JobID) != nil:
		return fmt.Errorf("job_id: %w", ValidateID(q.JobID))
	case q.JobID != "" && (q.CourseID != "" || q.Status != "" || q.Since != 0 || q.Until != 0 || q.Limit != 0 || q.Cursor != 0):
		return fmt.Errorf("a job id asks for one job: no filters, limit or cursor with it")
	case q.Status != "" && !q.Status.Valid():
		return fmt.Errorf("status %q is not one of success, failed, error, crash, timeout, overflow, killed", q.Status)
	case q.Limit < 0 || q.Limit > MaxHistoryPage:
		return fmt.Errorf("limit %d is outside [0, %d]", q.Limit, MaxHistoryPage)
	case q.Since < 0 || q.Until < 0:
		return fmt.Errorf("since and until are Unix milliseconds, not negative")
	case q.Until != 0 && q.Until <= q.Since:
		return fmt.Errorf("until must come after since")
	case len(q.CourseID) > MaxNameLength:
		return fmt.Errorf("course_id of %d bytes is longer than %d", len(q.CourseID), MaxNameLength)
	}
	return nil
}

// Summarize returns r without its result's bulk, as a page lists it.
func (r *JobRecord) Summarize() JobRecord {
	s := *r
	s.JobResult = JobResult{Result: Result{Status: r.Result.Status}, Grade: r.Grade, Usage: r.Usage}
	s.Summary = true
	return s
}

// History subjects and names.
const (
	// HistoryStreamSuffix names the stream of the job history:
	// "<PREFIX>_HISTORY".
	HistoryStreamSuffix = "HISTORY"
	// SuffixHistory is the root of the history stream's subjects:
	// "<prefix>.history.batch.<space>.<batchID>" holds the records of a
	// batch of jobs, "<prefix>.history.sums.<space>.<batchID>" their
	// summaries, space being the stream's (backend/history); records
	// stored by earlier versions are on the same without the space, on
	// "<prefix>.history.list.<course>.<status>.<client>.<jobID>" and
	// "<prefix>.history.job.<jobID>".
	// Only the backend writes them.
	SuffixHistory = "history"
	// SuffixHistoryRequest is followed by "client.<id>" (a frontend; only
	// the frontend of that name may publish there) or "admin.<id>": the
	// subjects of ClientGetHistory requests.
	SuffixHistoryRequest = "backend.history"
)

// HistoryStream is the name of the history stream.
func (s Subjects) HistoryStream() string {
	return strings.ToUpper(s.Prefix) + "_" + HistoryStreamSuffix
}

// HistoryAll matches every history subject, of every layout (the stream
// itself keeps its space's only).
func (s Subjects) HistoryAll() string { return s.Prefix + "." + SuffixHistory + ".>" }

// HistoryJob held the whole record of one job in earlier versions; read
// only, for the records they stored.
func (s Subjects) HistoryJob(jobID string) string {
	return s.Prefix + "." + SuffixHistory + ".job." + jobID
}

// HistoryBatch holds the records of a batch of jobs, batchID naming it:
// "<space>.<run>-<n>", unique to its writer's run (a bare "<run>-<n>" in
// the layout before the space).
func (s Subjects) HistoryBatch(batchID string) string {
	return s.Prefix + "." + SuffixHistory + ".batch." + batchID
}

// HistorySummaries holds the summaries of the batch batchID ("*.*": of
// every batch in a space; "*": of the layout's before).
func (s Subjects) HistorySummaries(batchID string) string {
	return s.Prefix + "." + SuffixHistory + ".sums." + batchID
}

// HistoryList held the record of one job in earlier versions; read
// only, for the records they stored. Pass "*" to match any value
// of a token.
func (s Subjects) HistoryList(course, status, client, jobID string) string {
	return s.Prefix + "." + SuffixHistory + ".list." + course + "." + status + "." + client + "." + jobID
}

// HistoryClient is where the frontend id asks for the history ("*": every
// frontend).
func (s Subjects) HistoryClient(id string) string {
	return s.Prefix + "." + SuffixHistoryRequest + ".client." + id
}

// HistoryAdmin is where an admin client asks for the history ("*": every
// admin client).
func (s Subjects) HistoryAdmin(id string) string {
	return s.Prefix + "." + SuffixHistoryRequest + ".admin." + id
}

// HistorySender tells who sent a ClientGetHistory received on subject,
// as Sender does for the backend's subjects.
func (s Subjects) HistorySender(subject string) (id string, admin bool, ok bool) {
	if id, ok := s.idAfter(subject, s.HistoryClient("")); ok {
		return id, false, true
	}
	if id, ok := s.idAfter(subject, s.HistoryAdmin("")); ok {
		return id, true, true
	}
	return "", false, false
}
