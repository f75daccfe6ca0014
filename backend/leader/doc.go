// Package leader elects the one active `ingo backend` of an installation.
// Other backends wait as standbys and take over when the active one
// releases its lease or dies (DESIGN.md §8: what must survive a process
// goes through JetStream).
//
// # Layout
//
// One key-value bucket per installation, named by messages.LeaderBucket
// ("<PREFIX>_LEADER"), with History 1 and a bucket TTL (the stream's
// MaxAge) equal to Options.TTL. Its one key, Key ("backend"), holds the
// id of the holder. Every candidate of an installation must use the same
// TTL: New updates the bucket to its own.
//
// # Acquire
//
// Campaign writes the key with a compare-and-set on the revision it read,
// when the key is absent, expired or a candidate's release (a delete
// marker left by Release). A standby tries again every min(TTL/8, 250 ms); failures other than
// "the key exists" (NATS down or reconnecting) are logged at debug level
// and retried, so a NATS restart does not end a candidacy. After Release,
// a standby acquires within one poll.
//
// # Renew
//
// A Lease owns one goroutine, which updates the key every TTL/4 with the
// revision it last wrote. It ends, closing Done, on the first of: a
// revision mismatch (someone else holds the key: lost at once), the fence
// below, or Release. The context given to Campaign bounds only the wait:
// a backend stopped by a signal releases its lease on the way out, so a
// standby takes over at once instead of after TTL.
//
// # Self-fencing
//
// A holder that has had no successful renewal for 3/4 TTL declares the
// lease lost (ErrLost) and must stop acting as the active backend. Time
// runs on the monotonic clock from when the last successful renewal was
// sent: the server stamps it no earlier, so the key lives at least TTL
// past that moment, and a standby cannot take it before the holder has
// fenced itself. The quarter TTL left covers the holder's own timers and
// scheduling. It assumes the NATS servers' wall clocks do not jump
// forward, or differ within a cluster, by that much, since JetStream
// ages messages by wall-clock stamps.
//
// A renewal that reached the server but whose answer was lost leaves the
// holder with a stale revision: its next renewal mismatches and it gives
// the lease up, which is safe; a standby then waits for the key to expire.
//
// # Expiry
//
// A dead holder's key disappears by the bucket's MaxAge. nats-server
// (v2.15) removes an aged message with its expiry timer, which fires when
// the oldest message is due but no more often than every 250 ms, and
// reads a clock that lags by up to 100 ms: measured takeover after a
// holder's last renewal is TTL + 0.1 to 0.4 s (expiry plus one poll), so
// within TTL + 1 s; with the 4 s default, at most about 5 s after the
// holder died. Per-message TTLs (KeyValueConfig.LimitMarkerTTL) go
// through the same timer, so they would not be faster, and kv.Update
// cannot set one: the plain bucket TTL is used.
//
// # What no candidate wrote
//
// NATS sends a JetStream answer to whatever reply subject the asker chose,
// with the server's authority: any frontend can have a direct get of its
// own bundle metadata answered on the key's subject, and the bucket stores
// it, with the bytes and headers it chose, or the bytes alone
// ({"no_hdr":true}), or, from a client that speaks NATS' protocol itself,
// behind a header block whose blank line hides the server's headers from
// nats.go. So a candidate writes its id with a mark (header Ingo-Lease:
// its id and a random token) and a compare-and-set, and the elector reads
// the key through STREAM.MSG.GET, whose answer gives the stored header
// block byte for byte: only a block of a candidate's own headers, a mark
// among them, and nothing else is a candidate's write. Anything else is
// foreign: a holder writes over it and keeps the lease; a standby counts
// it as held (it may hide a live holder's renewal) and waits for it to
// expire. The token tells a holder its own renewals (whose answer was
// lost) from those of another process with the same id. What is left to
// such a frontend is delay: sent faster than a holder renews, it can make
// renewals fail until the holder fences itself, and after a holder died
// it keeps the key alive while it goes on. A delete that is not a
// candidate's release (an operator's) counts as foreign too: the key
// expires instead.
//
// # Watching
//
// Silence reads the key without touching it: its holder, its revision,
// and how long ago the server stamped its last write. A standby uses it to
// guess that the holder died (silent for MissedRenewal, 3/8 TTL) and to
// prepare its takeover while the key expires; only Campaign takes the
// lease.
//
// # Use
//
//	e, err := leader.New(ctx, nc, leader.Options{TTL: ttl, Replicas: r})
//	lease, err := e.Campaign(ctx) // blocks while another backend is active
//	// serve until <-lease.Done() (then exit: the lease is gone) or shutdown
//	lease.Release(shutdownCtx) // lets a standby take over at once
package leader
