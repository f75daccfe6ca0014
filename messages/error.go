package messages

import "fmt"

// ErrorCode says what went wrong, so that a peer can branch on it.
type ErrorCode string

const (
	// CodeMalformed: the message could not be decoded.
	CodeMalformed ErrorCode = "malformed"
	// CodeUnexpected: a well-formed message that makes no sense on this
	// subject (an agent message sent to the client subject, say).
	CodeUnexpected ErrorCode = "unexpected"
	// CodeBadSender: the reply subject does not name a client or an agent.
	CodeBadSender ErrorCode = "bad_sender"
	// CodeBadRequest: a field is missing or out of range; Text says which.
	CodeBadRequest ErrorCode = "bad_request"
	// CodeProtocolVersion: the peer speaks another protocol version.
	CodeProtocolVersion ErrorCode = "protocol_version"
	// CodeDuplicateJob: a job with this id exists already.
	CodeDuplicateJob ErrorCode = "duplicate_job"
	// CodeUnknownJob: no such job, or it is finished.
	CodeUnknownJob ErrorCode = "unknown_job"
	// CodeStaleAttempt: the message is about an attempt that is no longer
	// current; the backend has re-queued or finished the job.
	CodeStaleAttempt ErrorCode = "stale_attempt"
	// CodeUnavailable: the backend cannot take the request now (it is
	// shutting down, or not the active backend); try again later.
	CodeUnavailable ErrorCode = "unavailable"
	// CodeQueueFull: a cap on waiting jobs (backend.max-waiting-per-course
	// or -per-user), or on a client's SSH-debug jobs
	// (backend.max-ssh-debug-per-client), is reached; Text names it. Try
	// again once jobs ran.
	CodeQueueFull ErrorCode = "queue_full"
	// CodeThrottled: the sender's requests of this kind (queue snapshots)
	// took their share of the backend's time; Ref names the request.
	// Ask again in a second.
	CodeThrottled ErrorCode = "throttled"
)

// Error answers a message that was refused. Addition to INGInious, whose
// backend answers nothing (or dies).
type Error struct {
	Code ErrorCode `cbor:"code"`
	Text string    `cbor:"text"`
	// JobID and Attempt name the job the refused message was about, if any.
	JobID   string `cbor:"job_id,omitempty"`
	Attempt int    `cbor:"attempt,omitempty"`
	// Ref echoes the Ref of the request refused, for requests that carry
	// one (ClientGetQueue): a client tells its refused query apart by it.
	Ref string `cbor:"ref,omitempty"`
}

func (e *Error) Error() string {
	if e.JobID != "" {
		return fmt.Sprintf("%s (job %s): %s", e.Code, e.JobID, e.Text)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Text)
}

// Errorf builds an Error.
func Errorf(code ErrorCode, jobID string, format string, args ...any) *Error {
	return &Error{Code: code, JobID: jobID, Text: fmt.Sprintf(format, args...)}
}
