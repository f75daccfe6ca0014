// Package backend is ingo's scheduler: it owns the job queue and every
// job's lifecycle, and is the only authority on which agent runs what.
//
// # One owner
//
// All scheduler state (jobs, queues, agents, clients, environments) belongs
// to one goroutine, the event loop in Backend.Run. NATS subscription
// handlers only decode messages and post them to the loop; timers post
// ticks. Nothing else reads or writes the state, so it has no locks.
//
// # Transitions
//
// Every change to a job goes through Backend.commit with an explicit
// Transition (queued, assigned, started, requeued, kill requested,
// finished). commit records the transition in the Journal before anyone
// hears of it, so that a durable journal can rebuild the same state after
// a restart. JobStarted alone is not recorded: after a restart, the hello
// of the agent running the job says so again.
//
// # Group commit
//
// A Journal that is an AsyncJournal (backend/journal) stores in the
// background, many transitions at once: commit applies a transition as
// soon as it is appended, and every message the loop sends from then on
// waits in the outbox (outbox.go) until the transitions appended before it
// are stored, then leaves in order. So a client hears "queued", an agent
// gets a job and a client a result only once they are durable, as when
// each transition waited for its own store, while the loop never waits
// for JetStream. A store that fails for good leaves the state ahead of the
// journal: Run stops with ErrJournalFailed without sending what it held,
// and cmd/ingo rebuilds a backend from the journal.
//
// What a turn of the loop sends (the answers to the events it took, the
// jobs a dispatch handed out, what the journal's progress released) is
// gathered per peer and leaves at the end of the turn, one NATS message
// per peer (sendqueue.go, messages.Batch); a message sent from a quiet
// loop still leaves at once, alone. Batches received are split and their
// items posted as events one by one, in order.
//
// # Recovery
//
// A Journal that is also a Replayer (backend/journal, on JetStream) is
// replayed through apply when Run starts, before it subscribes: waiting
// jobs are back in their queues in their order, and the seq and dispatch
// counters continue above the replayed ones. Jobs that were on an agent
// stay assigned to it; the agent table starts empty, so an agent saying
// hello links them again and keeps those it reports (reconcile), the
// others are re-queued. Jobs no agent claims within StartTimeout of the
// start are re-queued under the attempt rules (MaxAttempts).
//
// A journal that is a Preloader can be read before Run (Preload), while
// the process still waits for the lease of a backend that died: Run then
// applies only what was stored since, or returns ErrPreloadStale, having
// served nothing, when records the preload applied were removed meanwhile
// (the previous backend compacted them), and the caller starts over with
// a new Backend (preload.go; cmd/ingo's warm standby).
//
// # Memory
//
// A deadline's queue is mostly students' files. Every live job keeps its
// head (JobHead: ids, course, task, user, environment, priority, CPU limit;
// its strings shared between jobs), which is all that scheduling, the
// caps and snapshots read. Its whole description (input data, task
// problems, parameters) stays in memory for at most Config.QueueMemoryJobs
// live jobs when the Journal is a JobLoader: beyond, a new job's
// description is dropped once its JobQueued is stored, and read back from
// the journal when the job is dispatched (spill.go). A replay leaves every
// description in the journal. A read that fails leaves the job waiting; a
// description gone for good (ErrNoDescription) ends its job as crash
// rather than hold its queue. About 460 bytes a waiting job, against 2.1 kB
// with its 1 KiB answer decoded.
//
// # Scheduling
//
// Waiting jobs sit, per (environment type, environment), in leaves: one
// heap by arrival per (priority, course, user), the user being the job's
// "@username" input. A course is a client's: each frontend names its
// courses, and is trusted with its own only (docs/security.md), so two
// frontends' courses of the same id are two courses, each with its share
// and its caps, and a user is one of its course's (shareKey). An admin
// client that submits for several frontends (the HTTP API, one NATS
// client for all its tokens) names the frontend of each job
// (ClientNewJob.Frontend, refused from any other client: a frontend's
// identity is the one the NATS server enforces); its course is then
// that frontend's, its owner "client:frontend" (job.owner). A free slot
// takes, among the environments its agent offers (queue.go):
//
//  1. the best priority (lower first), as in INGInious; since it comes
//     before any share, a frontend's job may not be more urgent than
//     backend.frontend-min-priority (0, the normal one, by default;
//     priority.go), or one frontend would starve every other's courses;
//  2. within it, the course with the smallest virtual time: the slot-time
//     its jobs have held, divided by its weight (backend.course-weights:
//     "client/course" for one client's course, "client:frontend/course"
//     for one frontend's within an admin client, else "course" for that
//     course of every client, else 1), growing while they run; ties go
//     to the course holding fewer slots for its weight;
//  3. within the course, its user with the smallest virtual time (users
//     weigh alike), then fewer slots;
//  4. the earliest arrival.
//
// A course or user that starts waiting with nothing waiting or running
// starts at the smallest virtual time of those that are active: it takes
// the next slot that frees, and banks no credit for having been idle. A
// job taking a slot is charged at once, while it runs, the hold its
// user's (else its course's, else any) recent jobs had, so slots that
// free together, as when an agent registers or jobs started together end
// together, are shared by weight instead of all going to whichever was
// behind (TestFairShare_SlotsFreedTogetherAreShared); the advance is
// never added to what a course has had, so it cannot skew the share. So
// slot-time follows the weights while courses compete (2:1 within 1% in
// TestFairShare_SlotTimeFollowsWeights, whatever their jobs' lengths), and
// a flood of one course or one user delays another's job by at most the
// time until a slot frees, about one run time.
//
// Cost: per environment and priority, each course keeps the leaves of its
// users holding no slot in a heap by (virtual time, first arrival), which
// do not change while they hold none, and the others apart; a choice looks
// at the best priority of each of the agent's environments, the top of
// each course's heap and the leaves of users holding slots: O(courses +
// running users), whatever the number of students waiting. A push or a
// kill is O(log n); a start or end of a job updates two virtual times and
// refiles that user's leaves, O(log n) each; a course or user starting to
// wait scans the active ones of its level. TestFairShare_IndexAgreesWithAScan
// checks the choice against comparing every leaf. Caps on waiting jobs per course and per user
// (backend.max-waiting-per-course, -per-user) refuse a job over them with
// CodeQueueFull, naming the cap; they count the owner's course, so one
// frontend filling a course id does not get another's refused. A queue
// snapshot's counts are per owner's course too (messages.QueueCount
// names its client and frontend).
//
// SSH-debug jobs (debug "ssh") are bounded per client id apart
// (sshdebug.go): each holds a slot and one of its agent's few SSH ports
// for up to a session (30 minutes), so one frontend could take every
// port of every agent. A frontend's beyond backend.max-ssh-debug-per-client
// (waiting and running; -per-clients for one client) are refused with
// CodeQueueFull naming it; admins are not bounded. The count lives in
// the state apply keeps, from the jobs' heads (JobHead.SSHDebug), so a
// replay rebuilds it.
//
// Free slots are filled least-busy agent first (running/slots; ties to
// the one picked longest ago), so a burst spreads over the agents instead
// of filling the first one to register (INGInious). The agents with a free
// slot are indexed per environment they offer, each environment's in a
// heap in that order (agentindex.go): a choice looks at the top of the
// heap of each environment with jobs waiting, and a job assigned, ended
// or re-queued, a hello or a lost agent refiles that agent, O(its
// environments × log agents); so dispatch costs the same with ten agents
// or a thousand. TestAgentIndex_AgreesWithAScan checks every choice
// against a scan of all the agents. The index also counts the agents
// advertising each environment, so that a hello recomputes the list sent
// to clients only when an environment gains its first agent or loses its
// last. A queue snapshot (snapshot.go) lists the first jobs in the order
// this choice would take them if every agent offered every environment
// and no job ended, with counts of all.
//
// # Failures
//
// Agents ping; one silent for HeartbeatInterval × HeartbeatMisses is lost:
// its running jobs are re-queued (up to MaxAttempts) or finished as crash.
// Every agent message names its attempt; a message about an attempt that is
// no longer current is refused, and that attempt is killed. An undecodable
// or unexpected message is answered with an Error where it has a reply
// subject, logged and counted; it never stops the backend.
//
// # Metrics
//
// Stats are atomic counters, readable from any goroutine. Sizes (queue
// lengths, agents, slots) are loop-owned state: the loop publishes a copy
// of them at every tick, which Gauges returns under a lock of its own, so
// that no other goroutine ever touches the state. Config.Observer, called
// from the loop (it must not block), hears of each dispatch and each
// finished job with their wait and run times. cmd/ingo/metrics turns all
// three into Prometheus metrics.
package backend
