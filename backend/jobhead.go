package backend

import "github.com/ingo-grader/ingo/messages"

// JobHead is what the backend keeps of every live job, whether or not it
// holds the job's whole description: what scheduling, the caps, queue
// snapshots and the metrics read. The rest (input data, task problems,
// environment parameters) can stay in the journal until the job is
// dispatched (JobLoader).
type JobHead struct {
	JobID           string
	CourseID        string
	TaskID          string
	User            string // the "@username" input, which the fair share weighs
	Launcher        string
	EnvironmentType string
	Environment     string
	Priority        int
	// MaxTime is the job's CPU limit in seconds, 0 when unset.
	MaxTime            float64
	WaitForEnvironment bool
	// SSHDebug: the job asks for debug "ssh", which holds an agent's SSH
	// port; its client's are bounded (sshdebug.go).
	SSHDebug bool
}

// HeadOf returns the head of m.
func HeadOf(m *messages.ClientNewJob) JobHead {
	user, _ := m.InputData["@username"].(string)
	return JobHead{
		JobID: m.JobID, CourseID: m.CourseID, TaskID: m.TaskID, User: user, Launcher: m.Launcher,
		EnvironmentType: m.EnvironmentType, Environment: m.Environment, Priority: m.Priority,
		MaxTime: m.EnvironmentParameters.Limits.Time, WaitForEnvironment: m.WaitForEnvironment,
		SSHDebug: m.Debug == messages.DebugSSH,
	}
}

// Info is the short text INGInious shows for a job in queue snapshots
// (messages.JobDescription.Info).
func (h *JobHead) Info() string { return messages.JobInfo(h.CourseID, h.TaskID) }

// interner shares the strings that many heads repeat (course, task,
// environment, user, launcher, client id): a deadline's queue holds a
// million heads and a few thousand distinct strings.
type interner map[string]string

func (in interner) of(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in[s]; ok {
		return v
	}
	if len(in) >= 1<<20 {
		return s // a bound against a flood of distinct strings
	}
	in[s] = s
	return s
}

func (in interner) head(h JobHead) JobHead {
	h.CourseID, h.TaskID, h.User, h.Launcher = in.of(h.CourseID), in.of(h.TaskID), in.of(h.User), in.of(h.Launcher)
	h.EnvironmentType, h.Environment = in.of(h.EnvironmentType), in.of(h.Environment)
	return h
}
