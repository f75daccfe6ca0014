// Package journal is the backend's durable Journal on JetStream (DESIGN.md
// §8: everything that must survive a restart goes through JetStream).
//
// # Layout
//
// One stream per installation, named by messages.JournalStream
// ("<PREFIX>_JOBS"), holds the subjects "<prefix>.journal.>": one subject
// per job, "<prefix>.journal.<jobID>". Each message is one
// backend.Transition in the versioned CBOR wire form of this package
// (Encode, Decode).
//
// # Durability
//
// Append (backend.AsyncJournal, what the backend uses) publishes without
// waiting, up to 8,192 records in flight, and a worker follows the acks in
// order; Stored says up to where every record is stored, and the backend
// sends nothing about a transition before it is (group commit). A record
// whose ack does not come is sent again with its message id, which
// JetStream's duplicate window turns into an ack of the first store, for
// up to 110 s (a stream leader election, a NATS node's death); then the
// journal has failed, and the backend stops to be rebuilt from it. Record,
// the synchronous form, publishes and waits for the ack (5 s).
//
// # Retention
//
// A finished job's records, its JobFinished last, stay until its client
// acknowledged the result (or backend.Config.ResultRetention passed): the
// backend then calls Forget. So a result survives a backend restart until
// it is delivered, and LoadResult reads it back when the backend dropped
// it from memory. Forget only marks the job: the journal knows the first
// record of every live job (from acks and from Replay), and every second
// one purge removes every record below the oldest of them (compact.go),
// where a purge per job cost more than the job's stores together. A job
// live for long (waiting for an environment, a result whose client is
// away) is carried: once its first record is 100,000 behind the head, and
// when carrying it lets the purge drop at least 100 records per job
// carried (not for a deadline's queue of live jobs side by side), its
// records are copied to the head in order and the old ones go with the
// next compaction; a replay meeting both copies applies the history twice,
// which leaves the state it gives. Close runs a last compaction, so a
// restart does not send acknowledged results again; after a crash, those
// acknowledged within the last second may be sent again, which clients
// drop as duplicates. The stream also has safety nets against unbounded
// growth, which normal operation never reaches: MaxBytes
// (Options.MaxBytes, 4 GiB by default) and MaxAge (Options.MaxAge, 7 days
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
// before it serves (backend.Replayer). A JobQueued carries the job's head
// (backend.JobHead) beside its description, and the replay decodes only
// the head (DecodeLazy): the backend reads a description back with
// LoadJob, from the job's first record, when it dispatches the job
// (backend.JobLoader). A record written before heads existed is decoded
// whole.
//
// # Import graph
//
// This package imports backend for the Transition types; backend does not
// import it, and only sees the backend.Journal and backend.Replayer
// interfaces. cmd/ingo wires the two.
package journal
