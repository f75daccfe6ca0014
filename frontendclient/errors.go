package frontendclient

import "errors"

// Sentinel errors, for errors.Is. Refusals by the backend are not among
// them: they are *messages.Error values, for errors.As, with a Code to
// branch on (CodeDuplicateJob, CodeUnknownJob, CodeBadRequest, ...).
var (
	// ErrClosed: the Client was closed (or its NATS connection was), so the
	// call cannot complete, or the job will not get its result here.
	ErrClosed = errors.New("frontendclient: client closed")
	// ErrNoAnswer: the backend did not answer within RequestTimeout. It
	// may be down, or not started yet; NATS itself may be unreachable.
	ErrNoAnswer = errors.New("frontendclient: no answer from the backend")
	// ErrNoHistory: nobody serves the job history: the backend runs
	// without it (backend.history or backend.durable off), or no backend
	// runs at all. Asking again later helps only in the second case.
	ErrNoHistory = errors.New("frontendclient: nobody serves the job history")
	// ErrTooLarge: a job does not fit in one NATS message.
	ErrTooLarge = errors.New("frontendclient: job too large")
	// ErrInvalid: a request or an option is wrong before anything is sent
	// (a bad id, contradictory fields).
	ErrInvalid = errors.New("frontendclient: invalid request")
)
