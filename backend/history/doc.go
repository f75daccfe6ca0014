// Package history keeps every finished job's record in JetStream for a
// retention period (DESIGN.md §6, §7: `ingo result`, `ingo jobs`,
// GET /api/v1/jobs): who submitted what, where and when it ran, and its
// result, long after the journal (backend/journal) forgot the job.
//
// # Layout, and why
//
// One stream per installation, messages.HistoryStream ("<PREFIX>_HISTORY"),
// with one message per job:
//
//	<prefix>.history.list.<course>.<status>.<client>.<jobID>
//
// Its payload is the whole record; its header Ingo-Summary the summary
// (CBOR, base64). A lookup by job id is one direct get of the last message
// on "<prefix>.history.list.*.*.*.<jobID>": the server finds the subject
// in its index of subjects, whatever the job's course, without scanning
// the stream. A KV bucket keyed by job id could not be listed by course or
// time without reading every key. A listing filters on the same subjects
// with headers only, so the server sends only the jobs of that course,
// status and client (the tokens are messages.HistoryToken: a course id
// that is not a valid token is hashed, and readers check the record
// itself), and a page never reads results, archives or outputs.
//
// Why one message and not two (a record on "<prefix>.history.job.<jobID>"
// and a summary, as earlier versions stored them): each stored message
// costs the server a store, an ack and an index entry, and the history
// was half of what durability cost the backend per job at a deadline.
// Records of that layout are still read (by id: the job's subject, when
// the listing subject holds a summary only; in listings: the summary's
// payload) until the retention removes them.
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
// from its event loop: Add never blocks, a worker publishes its message
// without waiting, and another follows the acks, publishing again a record
// whose ack did not come (without a message id: a late first store and
// the second are one record, the second replacing the first, and the
// server keeps no duplicate-window entry per job). The backend lets the
// journal forget a delivered job only once its record is settled
// (Settled), so a result delivered and acknowledged is in the history. A
// write that fails for good is counted (Stats) and logged; the result's
// delivery never depends on it. A crash of the backend between a record's
// Add and its store loses nothing: the journal still holds the job (its
// forget waited for the record), and the next backend hands every job its
// replay finds finished to the history again (backend/historyreplay.go);
// the record replaces the same record if it was stored after all (same
// subject, one message per subject), so a job is never listed twice; a
// job stored again is listed by the time of that store.
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
