package messages

// Status is the outcome of a job. The set and the meanings are INGInious'.
type Status string

const (
	// StatusSuccess: the submission is correct.
	StatusSuccess Status = "success"
	// StatusFailed: the submission is wrong (the student's fault).
	StatusFailed Status = "failed"
	// StatusError: the grader misbehaved (the task author's fault), e.g. it
	// gave no feedback at all.
	StatusError Status = "error"
	// StatusCrash: the platform failed (the operator's fault): an agent was
	// lost, an environment is missing, a container could not be created.
	StatusCrash Status = "crash"
	// StatusTimeout: the CPU-time or the wall-time limit was reached.
	StatusTimeout Status = "timeout"
	// StatusOverflow: the memory limit was reached.
	StatusOverflow Status = "overflow"
	// StatusKilled: somebody killed the job.
	StatusKilled Status = "killed"
)

// Valid reports whether s is one of the seven statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusSuccess, StatusFailed, StatusError, StatusCrash, StatusTimeout, StatusOverflow, StatusKilled:
		return true
	}
	return false
}

// DefaultGrade is the grade INGInious gives when the grader sets none.
func (s Status) DefaultGrade() float64 {
	if s == StatusSuccess {
		return 100
	}
	return 0
}
