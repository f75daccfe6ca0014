// Package agent is the core of an ingo agent: it registers with the
// backend over NATS, takes the attempts the backend assigns, runs each on a
// containers.Runtime and sends its result back, exactly once per attempt.
// It knows nothing of Docker; containers/docker, containers/fake and
// containers/noop plug in below it.
//
// # Protocol (see messages/agent.go)
//
// The agent listens on Subjects.Agent(ID) and sends to
// Subjects.BackendAgent() with its own subject as reply subject. It says
// AgentHello on start, after every NATS reconnect, when the backend answers
// a Ping with Unknown, when the runtime's environments change, and, with no
// free slot, when it starts shutting down. A hello lists the attempts the
// agent runs or holds an unanswered result for, and the Seq of the last
// job it received, so that the backend can reconcile.
//
// # Sessions
//
// Each process has a random session, sent in its hellos and pings. Two
// processes may hold one agent id (a restarted agent beside its dead
// predecessor, or one set of credentials given to two agents); both
// receive what the backend sends to the id, so the backend names the
// session its jobs, kills and registration answers are for, and the agent
// drops those for another (Stats.OtherSession).
//
// Runtime.Cleanup runs every CleanupInterval and when the backend accepts
// the hello. It removes the leftovers of this process's attempts that no
// longer run, and those of other sessions of the same agent id and
// installation (dead processes) only while the backend recently named this
// session the registered one: it accepts a session only when no other
// process of the id is live. Nothing of another installation's agents, nor
// of a live process, is touched.
//
// On BackendNewJob the agent answers AgentJobStarted at once and runs the
// attempt in its own goroutine. Its result is encoded once, sent, and kept
// until the backend answers Ack or Error (stale attempt, unknown job); it is
// sent again every ResultRetry, and after every hello if sent before it.
// Results are resent, never recomputed. Jobs it cannot take for a reason
// of its own (every slot busy, shutting down, environment missing, task
// files unavailable, more memory than it has, a runtime's Failure with
// Requeue) get instead one AgentJobRefused that says why, kept and resent
// the same way: the backend re-queues them, so the student does not get a
// crash for a platform hiccup. A result the backend could not
// decode (NaN, invalid UTF-8) or NATS could not carry (over max_payload) is
// replaced by a crash or an error that says so: it would otherwise be resent
// forever.
//
// A kill cancels the attempt's context with containers.ErrKilled; the
// runtime guarantees a job never starts after that, so a kill during
// container creation is safe. The agent remembers the last attempts it
// finished (a bounded set) so that a late kill or a repeated job for one of
// them is ignored, which also stops the backend and the agent from bouncing
// "stale attempt" and "killed" at each other.
//
// # State and goroutines
//
// Agent.mu guards the attempt table, the unanswered results and the
// environments; it is a leaf lock, never held while publishing or calling
// the runtime. The goroutines are: Run's loop (hellos, heartbeats, result
// resends, shutdown phases), the NATS callback (one goroutine, in order),
// one per running attempt (a.jobs), and two helpers ending with Run's
// context (environment watcher, periodic Cleanup). Run waits for all of
// them before it closes the runtime and returns.
//
// # Shutdown
//
// When Run's context is done the agent stops taking jobs, lets attempts run
// for ShutdownGrace, cancels the rest with containers.ErrShutdown and hands
// them back to the backend (AgentJobRefused: it queues them again within
// backend.max-attempts, as it does the jobs of a dead agent, rather than
// give the student a crash), waits up to FlushTimeout for the backend to
// acknowledge every result and hand-back, flushes the connection and
// closes the runtime. The connection
// itself belongs to the caller.
package agent
