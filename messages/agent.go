package messages

// AgentHello registers an agent, or registers it again after a reconnect.
// Sent to SubjectBackendAgent with the agent's subject as reply subject. The
// backend answers Ack, or Error (CodeProtocolVersion, CodeBadRequest).
//
// Unlike INGInious, a second hello from a known agent does not crash its
// jobs: the backend reconciles RunningJobs with what it assigned. Jobs the
// agent does not report are re-queued when the agent cannot have missed
// them (another Session, or Seq at most LastJobSeq); jobs it reports that the
// backend does not expect are killed.
// Additions to INGInious: ProtocolVersion, Session, RunningJobs, LastJobSeq.
type AgentHello struct {
	ProtocolVersion   int    `cbor:"protocol_version"`
	FriendlyName      string `cbor:"friendly_name"`
	AvailableJobSlots int    `cbor:"available_job_slots"`
	// AvailableEnvironments: type -> name -> info.
	AvailableEnvironments map[string]map[string]EnvironmentInfo `cbor:"available_environments"`
	// Session is random per agent process: a new one means the agent
	// restarted and lost whatever the previous process was running.
	Session string `cbor:"session"`
	// RunningJobs lists the attempts this process runs or holds a result for.
	RunningJobs []JobAttempt `cbor:"running_jobs,omitempty"`
	// LastJobSeq is the Seq of the last BackendNewJob this session received.
	LastJobSeq uint64 `cbor:"last_job_seq,omitempty"`
}

// AgentJobStarted tells the backend that the agent took an attempt (sent on
// receipt of BackendNewJob, before the container exists).
type AgentJobStarted struct {
	JobID   string `cbor:"job_id"`
	Attempt int    `cbor:"attempt"`
}

// AgentJobDone is the result of one attempt. The backend answers Ack, or
// Error with CodeStaleAttempt or CodeUnknownJob; either way the agent can
// forget the result. Without an answer the agent sends it again.
type AgentJobDone struct {
	JobID   string `cbor:"job_id"`
	Attempt int    `cbor:"attempt"`
	JobResult
}

// AgentJobSSHDebug carries the SSH credentials of an attempt, at most once.
type AgentJobSSHDebug struct {
	JobID    string `cbor:"job_id"`
	Attempt  int    `cbor:"attempt"`
	Host     string `cbor:"host"`
	Port     int    `cbor:"port"`
	User     string `cbor:"user"`
	Password string `cbor:"password"`
}

// BackendNewJob asks an agent to run one attempt of a job. The agent answers
// AgentJobStarted at once, and AgentJobDone exactly once.
// Additions to INGInious: Attempt, Seq, TaskBundle (in JobDescription).
type BackendNewJob struct {
	JobDescription
	Attempt int `cbor:"attempt"`
	// Seq numbers the jobs sent to one agent; see AgentHello.LastJobSeq.
	Seq uint64 `cbor:"seq"`
}

// BackendKillJob asks an agent to kill an attempt. State is the job's
// previous state, for an agent that no longer knows the job and answers
// killed without wiping it (INGInious #743).
type BackendKillJob struct {
	JobID   string `cbor:"job_id"`
	Attempt int    `cbor:"attempt"`
	State   string `cbor:"state,omitempty"`
}

// Ack accepts a message that needs an answer (AgentHello, AgentJobDone).
// Addition to INGInious.
type Ack struct {
	JobID   string `cbor:"job_id,omitempty"`
	Attempt int    `cbor:"attempt,omitempty"`
}
