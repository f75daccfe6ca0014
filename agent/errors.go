package agent

import "errors"

var (
	// ErrInvalidConfig is wrapped by New when the configuration is unusable.
	ErrInvalidConfig = errors.New("agent: invalid config")
	// ErrAlreadyRunning is returned by a second call of Run.
	ErrAlreadyRunning = errors.New("agent: Run called twice")
)

// Result texts, and reasons of attempts handed back (AgentJobRefused),
// which reach the student when the job has no attempt left. They say what
// happened in plain words and nothing about the host.
const (
	textKilled      = "The job was killed."
	textShutdown    = "The agent was shut down while grading."
	textShutdownNew = "The agent was shutting down and could not take the job."
	textNoSlot      = "The agent had no free slot for the job."
	textRanAlready  = "The agent had already run this attempt of the job (the backend restarted without its journal?)."
	textInternal    = "The agent could not run the job because of an internal error. Please submit again later; if it persists, tell an administrator."
	textNoBundles   = "The job needs task files, but this agent cannot fetch task files (no task bundle store configured)."
	textNoTaskFiles = "The agent could not fetch the task files."
	textBadStatus   = "The grading environment returned an invalid status."
	textBadGrade    = "The grader returned a grade that is not a finite number."
	textUnsendable  = "The grader's feedback could not be sent back (it is not valid feedback data)."
)
