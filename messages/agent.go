package messages

// AgentHello registers an agent, or registers it again after a reconnect.
// Sent to SubjectBackendAgent with the agent's subject as reply subject. The
// backend answers Ack, or Error (CodeProtocolVersion, CodeBadRequest).
//
// Unlike INGInious, a second hello from a known agent does not crash its
// jobs: the backend reconciles RunningJobs with what it assigned. Jobs the
// agent does not report are re-queued when the agent cannot have missed
// them (another Session, or Seq at most LastJobSeq); jobs it reports that the
// backend does not expect are killed. A hello with another Session while
// the registered one is live (two processes with the same credentials) is
// refused with BackendAgentConflict; the Ack of an accepted hello names its
// Session, since every process of that agent id receives it.
// Additions to INGInious: ProtocolVersion, Session, RunningJobs, LastJobSeq.
type AgentHello struct {
	ProtocolVersion   int    `cbor:"protocol_version"`
	FriendlyName      string `cbor:"friendly_name"`
	AvailableJobSlots int    `cbor:"available_job_slots"`
	// AvailableEnvironments: type -> name -> info.
	AvailableEnvironments map[string]map[string]EnvironmentInfo `cbor:"available_environments"`
	// Session is random per agent process: a new one means the agent
	// restarted and lost whatever the previous process was running. The
	// agent labels its containers with it too.
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
// Additions to INGInious: Attempt, Seq, Session, Client, TaskBundle (in
// JobDescription).
type BackendNewJob struct {
	JobDescription
	Attempt int `cbor:"attempt"`
	// Client is the id of the client that submitted the job. Its
	// TaskBundle is fetched from that client's bundles (Subjects.Bundles)
	// and nobody else's: a client that names another's digest gets
	// nothing of it.
	Client string `cbor:"client,omitempty"`
	// Seq numbers the jobs sent to one agent; see AgentHello.LastJobSeq.
	Seq uint64 `cbor:"seq"`
	// Session is the agent process the attempt is for (AgentHello.Session).
	// Every process subscribed to the agent's subject receives the job; the
	// others drop it. Empty from a backend that does not say.
	Session string `cbor:"session,omitempty"`
}

// BackendKillJob asks an agent to kill an attempt. State is the job's
// previous state, for an agent that no longer knows the job and answers
// killed without wiping it (INGInious #743).
type BackendKillJob struct {
	JobID   string `cbor:"job_id"`
	Attempt int    `cbor:"attempt"`
	State   string `cbor:"state,omitempty"`
	// Session is the agent process that runs the attempt, as on
	// BackendNewJob; empty when the backend cannot tell (a message about an
	// attempt that is not current), and then every process acts on it.
	Session string `cbor:"session,omitempty"`
}

// Ack accepts a message that needs an answer (AgentHello, AgentJobDone,
// AgentJobRefused). Addition to INGInious.
type Ack struct {
	JobID   string `cbor:"job_id,omitempty"`
	Attempt int    `cbor:"attempt,omitempty"`
	// Session is set on the Ack of an AgentHello: the agent process whose
	// hello was accepted.
	Session string `cbor:"session,omitempty"`
}

// AgentJobRefused tells the backend that the agent did not run an attempt
// and never will: it could not take it (every slot busy, shutting down,
// the environment went away, the task files could not be fetched, more
// memory than the agent has). Nothing of the job ran, so the backend puts
// it back in its queue, within its attempts, instead of ending it as a
// crash. Answered and sent again as AgentJobDone. Addition to INGInious.
type AgentJobRefused struct {
	JobID   string `cbor:"job_id"`
	Attempt int    `cbor:"attempt"`
	// Reason says why, in words fit for the job's result should its
	// attempts run out ("every job slot was busy").
	Reason string `cbor:"reason"`
}

// BackendAgentConflict refuses an AgentHello because another process with
// the same agent id (the same credentials) is registered and was heard
// within Timeout. Every process of that id receives it; Session names the
// refused one. That one may say hello again: once the registered process
// has been silent for Timeout, the backend drops it (re-queueing its jobs)
// and accepts the next hello. Addition to INGInious.
type BackendAgentConflict struct {
	Session string `cbor:"session"`
	// Name is the registered process's friendly name; Since is when its
	// session registered and LastSeen when it was last heard (Unix ms).
	Name     string `cbor:"name"`
	Since    int64  `cbor:"since"`
	LastSeen int64  `cbor:"last_seen"`
	// Timeout is how long (ms) the registered process must stay silent
	// before the backend drops it.
	Timeout int64 `cbor:"timeout"`
}

// SessionOf is the agent session (AgentHello.Session) a message from the
// backend to an agent names, "" when it names none: then every process of
// the agent id acts on it.
func SessionOf(m Message) string {
	switch m := m.(type) {
	case *BackendNewJob:
		return m.Session
	case *BackendKillJob:
		return m.Session
	case *Ack:
		return m.Session
	case *Pong:
		return m.Session
	case *Unknown:
		return m.Session
	case *BackendAgentConflict:
		return m.Session
	}
	return ""
}
