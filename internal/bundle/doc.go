// Package bundle moves task folders from frontends to agents without a shared
// filesystem (DESIGN.md §4).
//
// A frontend packs a task folder into a Bundle: a deterministic gzipped tar
// named by the SHA-256 of its bytes ("sha256:<hex>"). It uploads the bundle
// to a JetStream stream (Store), under its own client id, unless it has
// uploaded it already, and puts the digest in the job. An agent asks its
// Cache for the bundle of the job's client, which it fetches from that
// client's bundles once, verifies, and keeps on disk within a byte budget.
// Runtimes unpack bundles with Extract, which refuses anything that could
// write outside the target directory.
//
// # What a bundle may hold
//
// Regular files and directories only. Devices, sockets and pipes are
// refused when packing and when extracting, and so are symbolic links when
// extracting: each is a way out of the task folder. When packing, a link
// to a regular file of the folder becomes a copy of that file (INGInious
// courses ship some: a shared library's .so.0 name); any other is refused. Pack normalises
// what would make the same folder pack differently on two machines: entries
// are in byte order of their paths, times are zero, owners are 0, and modes
// are 0755 (directories and files with any execute bit) or 0644.
//
// The digest depends on Go's compress/flate as well as on the files: a Go
// release that changes its compressor makes the same folder a new bundle.
// That costs one upload, never a wrong result.
//
// # Trust
//
// Nothing trusts a digest it did not check: FromBytes, Store.Get and
// Cache.Get hash the bytes they return. Nor does a digest give access: a
// client's job gets only what that client uploaded (see Store and Cache).
//
// NATS publishes a JetStream answer on whatever reply subject its asker
// chose, with the server's authority, and a stream stores it like any
// message on its subjects. Frontends may read nothing of the stream, not
// even their own metadata: a direct get, answered on another client's
// metadata subject (with the server's headers, without them by no_hdr, or
// behind a blank line that hides them from nats.go), is how one could
// have its own bytes stored as another's metadata, or in the job journal.
// What any frontend can still have stored there is an acknowledgement of
// its own publishes (JSON) or a status. None of it, nor anything else,
// passes for a bundle: metadata is written with one header, Ingo-Bundle:
// meta, and nothing else; an agent reads through STREAM.MSG.GET, whose
// answer gives a stored message's header block byte for byte and its
// subject and sequence as fields the message cannot shape, takes metadata
// only with exactly that block, and chunks only by the sequences that
// metadata names, on the bundle's data subject. A job names the sequence
// of the metadata its client wrote (JobDescription.TaskBundleMeta, from
// the acknowledgement of its upload): whatever else is stored on the
// subject, before or after, the agent reads that message, and checks it
// is on its client's subject. A job that names none (a client that does
// not say) gets the newest usable metadata among the first maxMetaWalk
// messages of the subject, which enough acknowledgements stored there
// first can hide.
package bundle
