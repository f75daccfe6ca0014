package messages

// ProtocolVersion is carried by ClientHello and AgentHello. The backend
// refuses a peer of another version with an Error of CodeProtocolVersion,
// instead of misreading its messages. Version 2: a sender is named by the
// subject it publishes on (Subjects.Sender), and an agent process by its
// session on the messages to and from it. Version 3: messages to one
// subject may travel together in a Batch. Version 4: task bundles are in
// a stream where each client has a subject space of its own
// (Subjects.Bundles), BackendNewJob names the job's client, and a job
// the metadata its client wrote for its bundle (TaskBundleMeta). Version
// 5: an admin client names the frontend whose course a job is
// (ClientNewJob.Frontend), and the queue's counts name their client and
// frontend (QueueCount): a peer of version 4 refuses both fields.
// Version 6: jobs of InstantEnvironmentType take no slot of an agent
// (InstantSlots of their own, which a version 5 agent does not have), and
// ClientGetQueue.JobID asks for one job.
const ProtocolVersion = 6

// ClientHello registers a client. Sent by a client to SubjectBackendClient
// when it starts, after every NATS reconnect, and whenever the backend
// answers Unknown. The backend answers BackendUpdateEnvironments, or Error.
// Addition to INGInious: ProtocolVersion.
type ClientHello struct {
	Name            string `cbor:"name"`
	ProtocolVersion int    `cbor:"protocol_version"`
}

// ClientNewJob submits a job. The backend answers BackendJobQueued once the
// job is accepted, or Error (CodeDuplicateJob, CodeBadRequest, ...); later
// BackendJobStarted, BackendJobSSHDebug and exactly one BackendJobDone follow.
// A job for an environment no agent offers ends at once with a crash result,
// unless WaitForEnvironment is set.
// Additions to INGInious: TaskBundle (in JobDescription), WaitForEnvironment.
type ClientNewJob struct {
	JobDescription
	// Priority: lower runs first; FIFO within a priority.
	Priority int `cbor:"priority"`
	// Launcher is free text for logs and queue snapshots ("Frontend - alice").
	Launcher           string `cbor:"launcher,omitempty"`
	WaitForEnvironment bool   `cbor:"wait_for_environment,omitempty"`
	// Frontend names, within the sending client, the frontend whose
	// course this is: the backend counts the course, its fair share and
	// its caps per (client, frontend, course), so that frontends sharing
	// one client (the HTTP API's tokens) do not share courses of the same
	// id. Only an admin client may set it (it vouches for its frontends,
	// as the HTTP API does for its tokens); from any other it is refused,
	// since a frontend's identity is what the NATS server enforces. An id
	// (ValidateID) or empty. Addition to INGInious.
	Frontend string `cbor:"frontend,omitempty"`
}

// ClientKillJob kills a waiting or running job. A waiting job ends at once
// with a killed result; a running one when its agent has stopped it. An
// unknown or finished job is answered with Error (CodeUnknownJob).
type ClientKillJob struct {
	JobID string `cbor:"job_id"`
}

// ClientGetQueue asks for a queue snapshot; the answer is BackendGetQueue.
// Empty, as INGInious sends it, it asks for what it always did: the first
// jobs of the whole queue in dispatch order and the counts. Its other
// fields (additions to INGInious, all optional; see queuepage.go and
// Validate) ask for the head of each queue, or for one page of a listing
// of every job.
type ClientGetQueue struct {
	// Ref, when set, is echoed in the answer, so that a client with
	// several requests in flight tells their answers apart.
	Ref string `cbor:"ref,omitempty"`
	// PerQueue > 0 asks for the head of each queue instead of the first
	// jobs of the whole queue: the first PerQueue waiting jobs of each
	// environment in its own dispatch order (at most MaxQueueHeads).
	PerQueue int `cbor:"per_queue,omitempty"`
	// Limit > 0 asks for one page of every job (at most MaxQueuePage):
	// running jobs by dispatch, then waiting jobs by environment, priority
	// and arrival, from After on. The filters below apply to pages only.
	Limit int `cbor:"limit,omitempty"`
	// After is the Next of the previous page; nil for the first page.
	After *QueueCursor `cbor:"after,omitempty"`
	// EnvironmentType and Environment keep one environment type, or one
	// environment (Environment needs its type); CourseID one course.
	EnvironmentType string `cbor:"environment_type,omitempty"`
	Environment     string `cbor:"environment,omitempty"`
	CourseID        string `cbor:"course_id,omitempty"`
	// JobID keeps one job (a first page only): the page lists it if it
	// is queued or running and the client may see it, else nothing; the
	// summary still counts what the other filters keep. What a client
	// that lost its own record of a job (a restarted gateway) asks,
	// whatever the job's place in a queue too long for a snapshot to
	// list (protocol 6).
	JobID string `cbor:"job_id,omitempty"`
}

// Ping is a heartbeat from a client or an agent. The backend answers Pong to
// a registered peer and Unknown to any other, which then says hello again.
type Ping struct {
	// Session is an agent's AgentHello.Session: only the registered process
	// of an agent id keeps it alive (addition to INGInious). A client's is
	// the ping's own tag, echoed in the answer so that the client knows
	// which ping is answered.
	Session string `cbor:"session,omitempty"`
}

// BackendUpdateEnvironments lists the advertised environments by type:
// {"docker": ["default", "python3"]}. Sent to every client whenever the set
// changes (an agent arrives, changes or is lost) and in answer to ClientHello.
type BackendUpdateEnvironments struct {
	AvailableEnvironments map[string][]string `cbor:"available_environments"`
}

// BackendJobQueued confirms that a job was accepted into the queue.
// Addition to INGInious (which gives no confirmation).
type BackendJobQueued struct {
	JobID string `cbor:"job_id"`
}

// BackendJobStarted tells the submitting client that an agent took the job.
// It may come more than once when an attempt is lost and the job re-queued.
type BackendJobStarted struct {
	JobID string `cbor:"job_id"`
	// Agent is the friendly name of the agent. Addition to INGInious.
	Agent   string `cbor:"agent,omitempty"`
	Attempt int    `cbor:"attempt,omitempty"`
}

// BackendJobDone is the one final result of a job, sent to the client that
// submitted it.
type BackendJobDone struct {
	JobID string `cbor:"job_id"`
	JobResult
}

// BackendJobSSHDebug gives the submitting client the credentials of a job's
// SSH server (at most once per attempt).
type BackendJobSSHDebug struct {
	JobID    string `cbor:"job_id"`
	Host     string `cbor:"host"`
	Port     int    `cbor:"port"`
	User     string `cbor:"user"`
	Password string `cbor:"password"`
}

// BackendGetQueue is a queue snapshot, both lists in dispatch order.
// Additions to INGInious: Agents, the registered agents with their load;
// Summary, the counts of every job, since each list stops at the backend's
// bound (backend.queue-snapshot-jobs) so that a snapshot of a deadline's
// queue still fits one message; Ref and Next, for the requests that ask
// for them (ClientGetQueue).
type BackendGetQueue struct {
	JobsRunning []QueueRunningJob `cbor:"jobs_running"`
	JobsWaiting []QueueWaitingJob `cbor:"jobs_waiting"`
	Agents      []QueueAgent      `cbor:"agents"`
	Summary     *QueueSummary     `cbor:"summary,omitempty"`
	// Ref is the request's.
	Ref string `cbor:"ref,omitempty"`
	// Next is where the page after this one starts (ClientGetQueue.After);
	// nil on the last page, and outside paging.
	Next *QueueCursor `cbor:"next,omitempty"`
}

// Pong answers Ping from a registered peer.
type Pong struct {
	// Session echoes the Ping's session: to an agent, this process is the
	// registered one (addition to INGInious); to a client, its ping's tag.
	Session string `cbor:"session,omitempty"`
}

// Unknown tells a peer that the backend does not know it (it restarted, or
// the peer was dropped for silence): the peer must say hello again.
type Unknown struct {
	// Session echoes the Ping's session: to an agent, so that only the
	// process that is unknown says hello again (addition to INGInious); to
	// a client, its ping's tag.
	Session string `cbor:"session,omitempty"`
}
