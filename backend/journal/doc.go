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
// A finished job's records, its JobFinished last, stay until its client
// acknowledged the result (or backend.Config.ResultRetention passed): the
// backend then calls Forget, which purges the job's subject in the
// background (a worker owned by the Journal, ended by Close). So a result
// survives a backend restart until it is delivered, and LoadResult reads
// it back when the backend dropped it from memory. The stream also has
// safety nets against unbounded growth, which normal operation never
// reaches: MaxBytes (Options.MaxBytes, 1 GiB by default) and MaxAge
// (Options.MaxAge, 7 days by default; the backend command sets it above
// the result retention). There is no per-subject message limit: a job has
// several transitions, and dropping an early one (its JobQueued) would
// lose the job on replay.
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
