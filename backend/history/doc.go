// Package history keeps every finished job's record in JetStream for a
// retention period (DESIGN.md §6, §7: `ingo result`, `ingo jobs`,
// GET /api/v1/jobs): who submitted what, where and when it ran, and its
// result, long after the journal (backend/journal) forgot the job.
//
// # Layout, and why
//
// One stream per installation, messages.HistoryStream ("<PREFIX>_HISTORY"),
// with two subjects per job:
//
//	<prefix>.history.job.<jobID>                              the whole record
//	<prefix>.history.list.<course>.<status>.<client>.<jobID>  its summary
//
// A lookup by job id is one direct get of the last message of a subject
// without wildcards, whatever the job's course: a subject scheme with the
// course first would need the course to look a job up, and a KV bucket
// keyed by job id cannot be listed by course or time without reading
// every key. A listing filters on the summary subjects, so the server
// sends only the jobs of that course, status and client (the tokens are
// messages.HistoryToken: a course id that is not a valid token is hashed,
// and readers check the record itself). Summaries are a few hundred bytes,
// so a page never reads results, archives or outputs.
//
// Pages are newest first: stream order is finish order (one writer, the
// active backend), and a page reads windows of sequences below its cursor
// (the sequence of the last job listed), each window through an ordered
// consumer from its first sequence, doubling the window while it finds
// too few, down to the first sequence of `since` (found by start time);
// `until` starts below the first sequence at that time. A page reads what
// it lists and the gaps of non-matching sequences the server skips, never
// the whole stream.
//
// The stream keeps one message per subject (a record written twice
// replaces the first), MaxAge is the retention (backend.history-retention,
// 30 days by default), MaxBytes the size bound (backend.history-max-bytes)
// with the oldest records dropped first, and Replicas the journal's. An
// archive over Options.MaxArchive is not kept; the record says its size
// (JobRecord.ArchiveDropped).
//
// # Writing
//
// The backend hands a finished job's record over (backend.History.Add)
// from its event loop: Add never blocks, a worker publishes both messages
// without waiting, and another follows their acks, publishing again (with
// the same message ids, which the duplicate window turns into the first
// store's ack) a record whose ack did not come. The backend lets the
// journal forget a delivered job only once its record is settled
// (Settled), so a result delivered and acknowledged is in the history. A
// write that fails for good is counted (Stats) and logged; the result's
// delivery never depends on it. A crash of the backend between a record's
// Add and its store loses nothing: the journal still holds the job (its
// forget waited for the record), and the next backend hands every job its
// replay finds finished to the history again (backend/historyreplay.go);
// the record replaces the same record if it was stored after all (same
// subjects, one message per subject, same message ids), so a job is never
// listed twice. A job stored again after the duplicate window is listed
// by the time of that store.
//
// # Reading, and who may
//
// Clients ask with messages.ClientGetHistory as a NATS request on
// Subjects.HistoryClient(id) (a frontend: NATS lets only the frontend of
// that name publish there) or Subjects.HistoryAdmin(id) (admins), served by
// Serve in the backend process, in a queue group: the sender's identity is
// the subject, as for the backend's own subjects. A frontend gets only the
// jobs it submitted (its listing filters on its client token, and a
// lookup of another's job is CodeUnknownJob, as for a job that does not
// exist); an admin every job. No client may read the stream itself: the
// NATS permissions of frontends and admins (internal/natsauth) do not
// include its JetStream API subjects.
package history
