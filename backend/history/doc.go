// Package history keeps every finished job's record in JetStream for a
// retention period (DESIGN.md §6, §7: `ingo result`, `ingo jobs`,
// GET /api/v1/jobs): who submitted what, where and when it ran, and its
// result, long after the journal (backend/journal) forgot the job.
//
// # Layout, and why
//
// One stream per installation, messages.HistoryStream ("<PREFIX>_HISTORY"),
// with two messages per batch of records:
//
//	<prefix>.history.batch.<space>.<batchID>   the records, whole
//	<prefix>.history.sums.<space>.<batchID>    their summaries, in the same order
//
// where space is the stream's, a random word only its configuration holds
// (package internal/streamspace): the stream keeps those two subjects
// only, so nobody who cannot read the configuration (anybody but a
// backend) can have the server store its answers there until the stream,
// bounded, drops its oldest records before their retention. A stream of
// the layouts before gets a space at the next open; what it holds is
// still read (the feed follows their subjects too). Two backends that
// move it at the same moment each give it a space and the later wins:
// the other's next batch finds no stream, and it reads the stream's
// space and stores that batch, and every one after, there.
//
// Each is a list of frames: an encoded record (a BackendHistory of one
// job) after its length as a uvarint. At a deadline a batch holds a
// couple of hundred records: the server stores, acknowledges and indexes
// two messages for them, where a message per job cost the backend ~21 µs
// per job, more than half of what durability cost it
// (docs/PERFORMANCE.md). The summaries are a message of their own, not a
// header of the records', because JetStream caps headers at 64 KiB and
// scans them whole for each header it looks up.
//
// Finding a job by its id, or listing a course's, is then no longer the
// server's work: every backend process that serves the history keeps an
// index (index.go), built by reading the summaries messages from the
// stream's start and following it (feed.go): for each record its key
// (its summaries message's sequence and its place in it), its batch, and
// the names and times a listing filters on. A lookup is a map read, then
// one direct get of its batch's records by subject; a page is a walk of
// the index from its cursor, newest first, then a read of the summaries
// messages that hold what it lists, each once (a page of recent jobs is
// one or two). The index costs a process about 136 bytes per record in
// the retention (TestIndexMemoryReport: 136 MB for a million finished
// jobs), and a start reads the summaries only (TestIndexStartReport:
// ~2.5 s per million records). The process that writes a batch hands its
// feed the entries it built, rather than have it decode what it just
// encoded (stash.go). A listing, and a lookup that misses, first ask the
// stream for its last sequence and wait until the index has read it, so
// what was stored is found; the index drops what the retention removed
// before the stream's first sequence.
//
// A batch's subject is the space, its writer's run id and a counter: a batch
// published again (its ack did not come) replaces itself, one message
// per subject. A job stored again (a replay, below) is in two batches;
// the index keeps its newest record, and pages list it once.
//
// Records of earlier layouts are still read until the retention removes
// them (the feed reads their listing subjects too): one message per job
// on
// "<prefix>.history.list.<course>.<status>.<client>.<jobID>" (the whole
// record; its summary in the header Ingo-Summary), and, earlier, the
// summary on that subject and the whole record on
// "<prefix>.history.job.<jobID>".
//
// The stream keeps one message per subject, MaxAge is the retention
// (backend.history-retention, 30 days by default), MaxBytes the size
// bound (backend.history-max-bytes) with the oldest batches dropped
// first, and Replicas the journal's. An archive over Options.MaxArchive
// is not kept; the record says its size (JobRecord.ArchiveDropped). A
// summary's names (course, task, user...) are cut to 1 KiB each, as every
// serving process reads every summary and keeps a record's course and
// client in memory; the whole record keeps them whole.
//
// # Writing
//
// The backend hands a finished job's record over (backend.History.Add)
// from its event loop: Add never blocks. A worker gathers what comes
// within 10 ms of a batch's first record (or what fits) and publishes
// it without waiting; another follows the acks in order, publishing
// again a message whose ack did not come. Nobody waits for a record's
// store but the journal's forget, so the 10 ms cost no one time, and a
// lookup in the process that writes waits for its job's record. The backend
// lets the journal forget a delivered job only once its record is
// settled (Settled), so a result delivered and acknowledged is in the
// history. A write that fails for good is counted (Stats) and logged;
// the result's delivery never depends on it. A crash of the backend
// between a record's Add and its store loses nothing: the journal still
// holds the job (its forget waited for the record), and the next backend
// hands every job its replay finds finished to the history again
// (backend/historyreplay.go); a job is never listed twice (above), and a
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
