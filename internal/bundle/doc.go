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
// client's job gets only what that client uploaded (see Store and Cache). The Cache hashes again every time it
// reads a file back from its directory (see Cache).
package bundle
