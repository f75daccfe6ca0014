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
// Regular files and directories only. Symbolic links, devices, sockets and
// pipes are refused when packing and when extracting: an INGInious task needs
// none of them, and each is a way out of the task folder. Pack normalises
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
// chose, with the server's authority, so any frontend can have the stream
// store, on another client's subjects, a direct get's answer (bytes and
// headers it stored in its own space, then the server's; or the bytes
// alone, asked for with {"no_hdr":true}; or, from a client that speaks
// NATS' protocol itself, a header block whose blank line hides the
// server's headers from nats.go), a publish's acknowledgement (JSON), or a
// "404" status. None of it passes for a bundle. Metadata is written with
// one header, Ingo-Bundle: meta, and nothing else; an agent reads through
// STREAM.MSG.GET, whose answer gives a stored message's header block byte
// for byte and its subject and sequence as fields the message cannot
// shape, and takes metadata only with exactly that block (else it walks
// the subject for the newest that has it), and chunks only by the
// sequences that metadata names, on the bundle's data subject. A frontend
// reading its own metadata (a direct get: all it may ask) takes it only
// with the mark and the server's headers, each once: else it uploads again.
package bundle
