// Package journal is the backend's durable Journal on JetStream (DESIGN.md
// §8: everything that must survive a restart goes through JetStream).
//
// # Layout
//
// Two streams per installation. The journal stream, named by
// messages.JournalStream ("<PREFIX>_JOBS"), holds the subjects
// "<prefix>.journal.<space>.>", where space is a random word only the
// streams' configurations hold (space.go says why: nobody who cannot
// read them can have the server store anything there). Each record is
// one backend.Transition in the versioned CBOR wire form of this package
// (Encode, Decode). Records are stored in batches (batch.go): one message
// on "<prefix>.journal.<space>.batch.v1" holds the records appended
// together, each with its job's id ahead of it. A JobQueued's
// description (the student's answers, most of the bytes) is not in its
// record but in the batch's input message, in the inputs stream
// ("<PREFIX>_JOBINPUTS", subject "<prefix>.jobinputs.v1.<space>";
// inputs.go), which the batch names; so a replay reads heads only. A
// journal written before the space (batches on "<prefix>.journal.batch.v1"),
// before inputs apart (batches of version 1) or before batches (one
// message per record on its job's subject, "<prefix>.journal.<jobID>")
// is still read, and gets a space at its next open.
//
// # Durability
//
// Append (backend.AsyncJournal, what the backend uses) queues the record
// and returns; a writer publishes what is queued as one batch whenever
// one of two in-flight slots is free (first its input message, whose ack
// it waits for, since the batch names its sequence), and the ack worker
// follows the batches' acks in order. So batches grow with the load (a group commit):
// under a light load a record goes at once, alone; at a deadline the
// records that arrive while two batches are stored go together, and
// JetStream's cost, which is per message, is shared. Stored says up to
// where every record is stored, and the backend sends nothing about a
// transition before it is. Up to 8,192 records may wait to be stored. A
// batch whose ack does not come is sent again with its message id, which
// JetStream's duplicate window turns into an ack of the first store, for
// up to 110 s (a stream leader election, a NATS node's death); then the
// journal has failed, and the backend stops to be rebuilt from it.
// Record, the synchronous form, appends and waits until it is stored.
//
// # Retention
//
// A finished job's records, its JobFinished last, stay until its client
// acknowledged the result (or backend.Config.ResultRetention passed): the
// backend then calls Forget. So a result survives a backend restart until
// it is delivered, and LoadResult reads it back when the backend dropped
// it from memory. Forget only marks the job: the journal knows the
// messages holding every live job's records (from acks and from Replay),
// and every second one purge removes every message below the oldest of
// them (compact.go), where a purge per job cost more than the job's
// stores together; then one purge of the inputs stream removes the input
// messages of the batches purged (inputs.go). A job live for long (waiting for an environment, a
// result whose client is away) is carried: once its first record is 4,096
// messages behind the head (at most 256 MiB of full batches), and when
// carrying it lets the purge drop at least 100 messages per job carried
// (not for a deadline's queue of live jobs side by side), its records are
// copied to the head as one batch (its description into the batch's new
// input message), which the writer appends only while none of the job's
// records is on its way, so that the copy comes before
// the job's next records; the old ones go with the next compaction; a
// replay meeting both copies applies the history twice,
// which leaves the state it gives. Close runs a last compaction, so a
// restart does not send acknowledged results again; after a crash, those
// acknowledged within the last second may be sent again, which clients
// drop as duplicates. The stream also has safety nets against unbounded
// growth, which normal operation never reaches: MaxBytes
// (Options.MaxBytes, 4 GiB by default; the inputs stream has no bound of
// its own, see inputs.go) and MaxAge (Options.MaxAge, 7 days
// by default; the backend command sets it above the result retention).
// There is no per-subject message limit: a job has several transitions,
// and dropping an early one (its JobQueued) would lose the job on replay.
//
// # Recovery
//
// Replay reads the whole stream in order with an ordered consumer that
// pulls ahead while it decodes, without a subject filter (with one, the
// server matched its whole subject tree, one subject per job, for every
// batch), and hands every transition to the backend, which applies them
// before it serves (backend.Replayer); whole messages are decoded in
// parallel, one decoder per core, while the backend applies the ones
// before them in order (replay.go). A JobQueued carries the job's head
// (backend.JobHead), and the replay reads only the journal stream: the
// backend reads a description back with LoadJob, from the input message
// of the batch of the job's first record, when it dispatches the job
// (backend.JobLoader); the batches and input messages read last are kept
// (32 MiB of each, recent.go), since a queue is dispatched roughly in
// the order it was stored. An
// older record that holds its description is decoded lazily (the head
// only) when it has a head, whole when it was written before heads.
//
// Preload is the same read ahead of the lease (preload.go): it starts
// neither the compactor nor the writer, and the Replay that follows reads
// from the sequence after the last one preloaded. It refuses
// (backend.ErrPreloadStale) when the stream's first sequence moved past
// the one the preload started at: records it applied were purged or aged
// out, and only a replay from the start gives the state.
//
// # Import graph
//
// This package imports backend for the Transition types; backend does not
// import it, and only sees interfaces of its own (backend.Journal,
// Replayer, Preloader and the others in backend/transition.go and
// backend/preload.go). cmd/ingo wires the two.
package journal
