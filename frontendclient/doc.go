// Package frontendclient is the library frontends use to talk to an ingo
// backend: submit jobs, follow them to their one result, kill them, look at
// the queue and the environments on offer. The CLI and the HTTP API are
// built on it.
//
// # Protocol
//
// A Client subscribes to its own subject, messages.Subjects.Client(id), and
// sends everything to Subjects.BackendClient() with that subject as reply
// subject: the backend knows the client by it and answers there. The
// connection belongs to the caller; the Client never replaces its handlers
// and only adds a status listener (removed by Close).
//
// # One owner
//
// All client state (jobs, waiters, environments, heartbeat bookkeeping)
// is guarded by one mutex, Client.mu. Three goroutines take it: the NATS
// subscription's delivery goroutine (handle), the heartbeat goroutine
// (heartbeat, started by New and ended by Close) and callers of the API.
// Messages are published while holding mu, so what the client sends is in
// the order it decided to send it; the heartbeat and resubmission rules
// below depend on that order.
//
// # Connecting
//
// The caller makes the connection. Against an ingo installation (NATS
// in operator mode, docs/security.md) each identity receives replies
// only under its own inbox, so a frontend with credentials of NAME
// connects with nats.CustomInboxPrefix("_INBOX.frontend.NAME") and
// uses ClientID NAME (an admin: "_INBOX.admin.NAME" and Admin). With
// the default inbox the server refuses the connection's reply
// subscription, and task uploads (TaskDir, UploadTask) end with a
// timeout, not a permissions error.
//
// # Delivery rules
//
//   - A Job ends exactly once: with one result (BackendJobDone), or without
//     one when the backend refused a resubmission for good or the Client was
//     closed (Job.Err says which). A second BackendJobDone for the same job
//     is dropped and counted (Stats.DuplicateResults); a result for a job
//     this client does not know is logged, dropped and counted
//     (Stats.UnknownResults).
//   - Job.Events never blocks the client: it is buffered, and when the
//     application does not read it, progress events are dropped (and
//     counted) before the buffer fills; the final EventDone always fits.
//   - The client keeps each job's encoded submission until the job ends,
//     to resubmit it: memory grows with the input of the jobs in flight.
//
// # Heartbeat, restarts and resubmission
//
// The client pings the backend every PingInterval while NATS is connected.
// The backend handles one client's messages in the order sent and answers
// in that order (its single event loop), so, as long as nothing is lost on
// the way, the answer to ping n proves that everything sent before ping n
// reached the backend and was answered. The client keeps its unanswered
// pings in order and tags each (Ping.Session), which the backend echoes:
// an answer is matched with its ping, and older unanswered pings are taken
// as lost (an answer without a tag, from an older backend, is matched with
// the oldest). A ping unanswered for RequestTimeout is taken as lost and
// forgotten, and a NATS reconnect forgets them all.
//
// NATS delivers at most once: a message sent while no backend is
// subscribed is bounced (a "no responders" notice on our subject) and one
// in flight during an outage vanishes. The client counts such losses —
// bounces, reconnects, Unknown answers — and only trusts "ping n answered,
// so what came before arrived" when none happened in between; otherwise it
// sends again what it cannot confirm. Everything it sends twice is
// idempotent on the backend.
//
// A submission is "answered" once the backend said BackendJobQueued, an
// Error about that job, or anything else about it. Then:
//
//   - On Unknown (the backend restarted, or dropped us for silence) the
//     client says hello again and resubmits every job of its own without a
//     result that was sent before the answered ping.
//   - After a NATS reconnect it says hello again and resubmits every job
//     without a result: results published while we were away are lost, and
//     the backend sends a finished job's result again when its submitter
//     resubmits it.
//   - When a ping is answered, submissions sent before it that are still
//     unanswered were lost on the way (a backend that was not subscribed
//     yet, a NATS outage): they are sent again. The same holds for a hello.
//
// A resubmission answered with CodeDuplicateJob is fine: the backend still
// has the job. So is one answered with BackendJobQueued: the backend had
// lost it and queued it again (the job gets a second EventQueued). A
// backend that goes away and comes back therefore never turns waiting jobs
// into failures on this side, unlike INGInious' client, which ends every
// open job with "crash" when it reconnects.
//
// # Requests
//
//   - NewJob waits for BackendJobQueued or an Error naming the job, at most
//     RequestTimeout, resubmitting as above meanwhile. Without an answer it
//     returns ErrNoAnswer and forgets the job; calling NewJob again with the
//     same JobID is safe, since a CodeDuplicateJob answer to a job id this
//     client sent before counts as acceptance.
//   - Queue sends one ClientGetQueue per call and hands every
//     BackendGetQueue to all calls waiting at that moment: snapshots carry
//     no request id, and any snapshot taken after a call started answers it
//     well enough. A request (or snapshot) lost on the way is asked again
//     once a later ping is answered. QueryQueue (the head of each queue, or
//     a page of every job) sets a Ref on its request, and takes only the
//     answer that echoes it.
//   - KillJob has no positive answer in the protocol (the killed result
//     arrives as BackendJobDone to the job's submitter). The client sends
//     the ClientKillJob followed by a Ping: an Error naming the job before
//     that ping's answer is a refusal (*messages.Error, e.g.
//     CodeUnknownJob); the ping's answer without one means the backend took
//     the kill — unless a loss happened in between, and then the kill is
//     sent again with a new ping.
//
// # Durable results
//
// The backend keeps each result (in JetStream, across its restarts) and
// sends it again until the client acknowledges it; results.go says when the
// client does, and how duplicates are dropped by job id. A stable
// Options.ClientID is what lets a restarted frontend collect the results
// that finished while it was away, through Options.OnResult.
package frontendclient
