package messages

// DebugMode asks for more than a grade. INGInious encodes it as a bool or
// the string "ssh"; ingo names the three cases.
type DebugMode string

const (
	// DebugOff: a normal grading job.
	DebugOff DebugMode = ""
	// DebugOn: stdout and stderr of the grader are returned with the result.
	DebugOn DebugMode = "debug"
	// DebugSSH: the container serves SSH instead of running the grader, and
	// the client receives credentials in BackendJobSSHDebug.
	DebugSSH DebugMode = "ssh"
)

// Valid reports whether d is one of the three modes.
func (d DebugMode) Valid() bool { return d == DebugOff || d == DebugOn || d == DebugSSH }

// Limits bound one job. Zero means "the agent's default"; an agent caps every
// value at its own maximum. The key, unit, check and help tags describe the
// fields as settings (agent.default-limits.* and others; internal/settings).
type Limits struct {
	// Time is the CPU-time limit in seconds, summed over all cores.
	Time float64 `cbor:"time,omitempty" json:"time,omitempty" key:"time" check:"nonneg" help:"CPU time, in seconds"`
	// HardTime is the wall-clock limit in seconds (default 3 × Time).
	HardTime float64 `cbor:"hard_time,omitempty" json:"hard_time,omitempty" key:"hard-time" check:"nonneg" help:"wall time, in seconds (0: three times the CPU time)"`
	// Memory is in MiB, without swap.
	Memory int64 `cbor:"memory,omitempty" json:"memory,omitempty" key:"memory" check:"nonneg" help:"memory, in MiB (no swap)"`
	// Processes bounds the number of processes and threads.
	Processes int64 `cbor:"processes,omitempty" json:"processes,omitempty" key:"processes" check:"nonneg" help:"processes and threads"`
	// Output bounds, in bytes, each of stdout, stderr, feedback text and archive.
	Output int64 `cbor:"output,omitempty" json:"output,omitempty" key:"output" unit:"bytes" check:"nonneg" help:"bound of each of stdout, stderr, feedback and archive"`
	// Disk bounds the writable area of the container, in MiB.
	Disk int64 `cbor:"disk,omitempty" json:"disk,omitempty" key:"disk" check:"nonneg" help:"writable disk, in MiB"`
}

// EnvironmentParameters are INGInious' environment_parameters, typed.
type EnvironmentParameters struct {
	Limits Limits `cbor:"limits" json:"limits"`
	// NetworkGrading gives the grading container a network.
	NetworkGrading bool `cbor:"network_grading,omitempty" json:"network_grading,omitempty"`
	// RunCmd overrides the detection of the run file.
	RunCmd string `cbor:"run_cmd,omitempty" json:"run_cmd,omitempty"`
}

// JobDescription is what a client says about a job; the backend forwards it
// to the agent unchanged.
type JobDescription struct {
	JobID    string `cbor:"job_id"`
	CourseID string `cbor:"course_id,omitempty"`
	TaskID   string `cbor:"task_id,omitempty"`
	// TaskBundle is the content hash ("sha256:<hex>") of the task folder in
	// the task bundle store (uploaded by the job's client); empty for a
	// taskless job.
	TaskBundle string `cbor:"task_bundle,omitempty"`
	// TaskBundleMeta is the stream sequence of the metadata the client
	// wrote for TaskBundle (internal/bundle), which the agent reads; 0
	// when the client does not say (the agent then looks for the newest
	// the client wrote). Addition to INGInious.
	TaskBundleMeta        uint64                `cbor:"task_bundle_meta,omitempty"`
	TaskProblems          map[string]any        `cbor:"task_problems,omitempty"`
	InputData             map[string]any        `cbor:"inputdata,omitempty"`
	EnvironmentType       string                `cbor:"environment_type"`
	Environment           string                `cbor:"environment"`
	EnvironmentParameters EnvironmentParameters `cbor:"environment_parameters"`
	Debug                 DebugMode             `cbor:"debug,omitempty"`
}

// Info is the short text INGInious shows for a job in queue snapshots
// (JobInfo).
func (j *JobDescription) Info() string { return JobInfo(j.CourseID, j.TaskID) }

// JobInfo is a job's task as queue snapshots show it: "course/task", the
// task alone for a job without a course, and "" for a job with neither
// (an HTTP job without a course or task id): never its environment, which
// snapshots show beside it and which would read as a task's name.
func JobInfo(courseID, taskID string) string {
	switch {
	case courseID == "" && taskID == "":
		return ""
	case courseID == "":
		return taskID
	}
	return courseID + "/" + taskID
}

// Result is INGInious' (status, text) pair.
type Result struct {
	Status Status `cbor:"status" json:"status"`
	Text   string `cbor:"text" json:"text"`
}

// JobResult is the whole outcome of a job, as the grader produced it.
type JobResult struct {
	Result   Result            `cbor:"result"`
	Grade    float64           `cbor:"grade"`
	Problems map[string]Result `cbor:"problems,omitempty"`
	Tests    map[string]any    `cbor:"tests,omitempty"`
	Custom   map[string]any    `cbor:"custom,omitempty"`
	State    string            `cbor:"state,omitempty"`
	// Archive is a gzipped tar, or nil.
	Archive []byte `cbor:"archive,omitempty"`
	// Stdout and Stderr are filled in debug mode only.
	Stdout string `cbor:"stdout,omitempty"`
	Stderr string `cbor:"stderr,omitempty"`
	// Usage is what the job's containers used, as the agent measured it;
	// nil when unknown (an agent of an older version, a job that never
	// ran). Addition to INGInious.
	Usage *Usage `cbor:"usage,omitempty"`
}

// NewJobResult returns a result with only a status and a text, the grade
// INGInious gives to that status, and the state to keep.
func NewJobResult(status Status, text, state string) JobResult {
	return JobResult{Result: Result{Status: status, Text: text}, Grade: status.DefaultGrade(), State: state}
}

// JobAttempt names one attempt at running a job.
type JobAttempt struct {
	JobID   string `cbor:"job_id"`
	Attempt int    `cbor:"attempt"`
}

// EnvironmentInfo describes one environment an agent offers.
type EnvironmentInfo struct {
	// ID identifies the version (for Docker, the image id).
	ID string `cbor:"id"`
	// Created is when that version was made (Unix seconds); the newest wins.
	Created int64  `cbor:"created"`
	Title   string `cbor:"title,omitempty"`
	// Ports the environment needs published (INGInious' grading.ports).
	Ports []int `cbor:"ports,omitempty"`
	// Advertised environments are shown to clients; the others are still
	// scheduled (INGInious' org.inginious.grading.advertise).
	Advertised bool `cbor:"advertised"`
}

// QueueRunningJob is one running job in a queue snapshot.
type QueueRunningJob struct {
	JobID  string `cbor:"job_id" json:"job_id"`
	IsMine bool   `cbor:"is_mine" json:"is_mine"`
	// Agent is the friendly name of the agent; AgentID its id.
	Agent    string `cbor:"agent" json:"agent"`
	AgentID  string `cbor:"agent_id" json:"agent_id"`
	Info     string `cbor:"info" json:"info"`
	Launcher string `cbor:"launcher" json:"launcher"`
	// StartedAt is when the job was sent to the agent (Unix milliseconds).
	StartedAt int64 `cbor:"started_at" json:"started_at"`
	// MaxTime is the CPU-time limit in seconds, or -1 when none was given.
	MaxTime         float64 `cbor:"max_time" json:"max_time"`
	Attempt         int     `cbor:"attempt" json:"attempt"`
	EnvironmentType string  `cbor:"environment_type" json:"environment_type"`
	Environment     string  `cbor:"environment" json:"environment"`
	// Killing is set once a kill was sent and the agent has not answered yet.
	Killing bool `cbor:"killing,omitempty" json:"killing,omitempty"`
}

// WaitReason says why a waiting job is not running yet.
type WaitReason string

const (
	// WaitNoAgent: no agent offers the job's environment.
	WaitNoAgent WaitReason = "no_agent"
	// WaitSlotsBusy: the job is next for its environment, but every slot of
	// the agents offering it is busy.
	WaitSlotsBusy WaitReason = "slots_busy"
	// WaitQueued: jobs of the same or a better priority arrived before it.
	WaitQueued WaitReason = "queued"
	// WaitLowerPriority: jobs of a better (lower) priority are ahead of it.
	WaitLowerPriority WaitReason = "lower_priority"
	// WaitFairShare: jobs that arrived after it go first, because its
	// course (for its weight) or its user has had more slot-time.
	WaitFairShare WaitReason = "fair_share"
)

// QueueWaitingJob is one waiting job in a queue snapshot.
type QueueWaitingJob struct {
	JobID    string  `cbor:"job_id" json:"job_id"`
	IsMine   bool    `cbor:"is_mine" json:"is_mine"`
	Info     string  `cbor:"info" json:"info"`
	Launcher string  `cbor:"launcher" json:"launcher"`
	MaxTime  float64 `cbor:"max_time" json:"max_time"`
	Priority int     `cbor:"priority" json:"priority"`
	// QueuedAt is when the backend accepted the job (Unix milliseconds).
	QueuedAt        int64  `cbor:"queued_at" json:"queued_at"`
	EnvironmentType string `cbor:"environment_type" json:"environment_type"`
	Environment     string `cbor:"environment" json:"environment"`
	// Position is 1 for the next job of its environment to run.
	Position int        `cbor:"position" json:"position"`
	Reason   WaitReason `cbor:"reason" json:"reason"`
	// Attempt is above 1 for a job re-queued after its agent was lost.
	Attempt int `cbor:"attempt" json:"attempt"`
	// EstimatedStart is when the job should start (Unix milliseconds),
	// from its place in the dispatch order, the slots of the agents
	// offering its environment and the recent run times there; 0 when
	// there is nothing to go by. Addition to INGInious.
	EstimatedStart int64 `cbor:"estimated_start,omitempty" json:"estimated_start,omitempty"`
}

// QueueSummary counts the jobs of a queue snapshot, all of them, where the
// lists hold at most the backend's bound each (the first ones in dispatch
// order). A frontend's summary counts its own jobs.
type QueueSummary struct {
	Running int `cbor:"running" json:"running"`
	Waiting int `cbor:"waiting" json:"waiting"`
	// Truncated: a list stops before its last job.
	Truncated bool `cbor:"truncated" json:"truncated"`
	// Counts are per environment and course (of a client and frontend),
	// sorted by them.
	Counts []QueueCount `cbor:"counts" json:"counts"`
}

// CourseOwner names whose course a job is, as backend.course-weights and
// the queue's counts name it: the client's id, or "client:frontend" for a
// frontend an admin client submitted it for (ClientNewJob.Frontend; ids
// hold no ':').
func CourseOwner(client, frontend string) string {
	if frontend == "" {
		return client
	}
	return client + ":" + frontend
}

// QueueCount is how many jobs of one environment and course run and wait.
// A course is its client's (and, within an admin client such as the HTTP
// API, its frontend's: ClientNewJob.Frontend), so two clients' courses of
// one id are two counts.
type QueueCount struct {
	EnvironmentType string `cbor:"environment_type" json:"environment_type"`
	Environment     string `cbor:"environment" json:"environment"`
	// ClientID is the client whose course it is; Frontend the frontend
	// within it, "" for the client's own jobs. Additions to INGInious.
	ClientID string `cbor:"client_id,omitempty" json:"client_id"`
	Frontend string `cbor:"frontend,omitempty" json:"frontend,omitempty"`
	CourseID string `cbor:"course_id" json:"course_id"`
	Running  int    `cbor:"running" json:"running"`
	Waiting  int    `cbor:"waiting" json:"waiting"`
}

// QueueAgent is one registered agent in a queue snapshot.
type QueueAgent struct {
	AgentID string `cbor:"agent_id" json:"agent_id"`
	Name    string `cbor:"name" json:"name"`
	Slots   int    `cbor:"slots" json:"slots"`
	// Running counts the jobs holding its slots: quizzes
	// (InstantEnvironmentType), which hold none, are not counted.
	Running int `cbor:"running" json:"running"`
	// Environments lists "type/name" of every environment it offers.
	Environments []string `cbor:"environments" json:"environments"`
	// LastSeen is when the backend last heard from it (Unix milliseconds).
	LastSeen int64 `cbor:"last_seen" json:"last_seen"`
}
