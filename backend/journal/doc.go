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
// Record publishes synchronously and waits for JetStream's ack: a
// transition is stored before the backend applies it or tells anyone. An
// error (NATS down, timeout) refuses the transition, and the backend tries
// again later.
//
// # Retention
//
// When a job finishes, its JobFinished is recorded and then the job's whole
// subject is purged: a finished job leaves the journal (delivering results
// durably to offline clients is a later step of issue 4). The stream also
// has safety nets against unbounded growth, which normal operation never
// reaches: MaxBytes (Options.MaxBytes, 1 GiB by default) and MaxAge
// (Options.MaxAge, 7 days by default, far beyond any job's life). There is
// no per-subject message limit: a job has several transitions, and
// dropping an early one (its JobQueued) would lose the job on replay.
//
// # Recovery
//
// Replay reads the whole stream in order with an ordered consumer and
// hands every transition to the backend, which applies them before it
// serves (backend.Replayer).
//
// # Import graph
//
// This package imports backend for the Transition types; backend does not
// import it, and only sees the backend.Journal and backend.Replayer
// interfaces. cmd/ingo wires the two.
package journal
