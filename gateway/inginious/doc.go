// Package bridge serves INGInious' client protocol, so that an INGInious
// webapp (or anything built on inginious.client) runs its jobs on ingo
// without a change: the webapp connects its DEALER socket to the bridge's
// ZeroMQ ROUTER socket (github.com/go-zeromq/zmq4, pure Go) and exchanges
// INGInious' messages, msgpack maps with an "@type" key holding the
// message's name (github.com/vmihailenco/msgpack/v5; wire.go).
//
// From the webapp: ClientHello, ClientNewJob (the current course_id and
// the older taskset_id), ClientKillJob, ClientGetQueue, Ping. To it:
// BackendUpdateEnvironments, BackendJobStarted, BackendJobDone,
// BackendJobSSHDebug, BackendGetQueue, Pong, Unknown.
//
// Each INGInious job becomes an ingo job through one frontendclient with a
// stable id. The bridge keeps nothing the webapp depends on: queued and
// running jobs live in ingo's backend (durable), and a result is
// acknowledged to ingo only once it was handed to a webapp that was alive
// (it pinged in the last seconds), so a result that finds no webapp comes
// again when one is back, whatever restarted in between.
//
// Tasks are read from TasksDir/<course>/<task>, as INGInious agents read
// them; the folder is packed and stored in ingo's task bundle store under
// its content hash (uploaded once per content).
//
// A malformed frame, an unknown message type or bad field types are
// logged and answered (Unknown, or a crash result for a job), never fatal.
//
// # Hostile peers
//
// INGInious' protocol has no credentials: a peer can watch the queue,
// submit, kill any job and read results. The bridge serves the addresses
// of Options.Allow only (loopback by default), and closes any other
// connection before its handshake.
//
// zmq4 v0.17.0 trusts its peers: it allocates whatever size a frame
// header announces (2^62 bytes panic, 64 GiB is a fatal out of memory: 73
// bytes kill the process, which in `ingo up` is NATS, backend and agent
// too), indexes past the end of a malformed READY property, panics on a
// socket type it does not know, never closes a connection whose handshake
// fails, and does each handshake in its accept loop, so that one peer that
// says nothing keeps every other one out. The bridge therefore listens
// through its own transport (transport.go), whose connections read the
// ZMTP 3 stream before zmq4 does (zmtp.go) and close at the first byte
// zmq4 must not see:
//
//   - a frame announcing more than its bound: MaxMessageBytes (16 MiB,
//     the largest INGInious message the bridge decodes: a job reaches
//     ingo as one NATS message of at most 8 MiB) plus 64 KiB of
//     envelope for a message's frames together, 64 KiB for a command;
//     more than 16 frames in a message;
//   - a greeting other than ZMTP 3 NULL; a first frame other than a READY
//     whose properties lie within it, with a socket type that talks to a
//     ROUTER (REQ, DEALER, ROUTER) and an identity of at most 255 bytes.
//
// The transport does each handshake itself, on its own goroutine, within
// HandshakeTimeout (10 s): it sends zmq4's greeting, reads and checks the
// peer's greeting and READY, and only then hands the connection to zmq4,
// which reads them again and finds its greeting already sent. It admits
// MaxConns connections at once (16: a webapp holds one) and
// MaxConnsPerAddr from one IP address (4); more are closed at once. So
// zmq4 holds at most MaxConns + 11 messages (one per connection, ten in
// its queue, one being handled) of MaxMessageBytes plus envelope, and 64
// KiB per connection in handshake: (16 + 11) x 16 MiB, about 430 MiB,
// with the defaults.
//
// zmq4 writes to a peer under the lock of all its sends: one peer that
// read nothing (a frozen webapp, or one that pings and reads no pong) kept
// every other webapp without an answer for 30 s, and INGInious' client
// gives up on its backend after 11 s of silence and crashes every job in
// flight. A connection's Write therefore only queues (at most 24 MiB, two
// of the largest results); its own goroutine writes to the peer. A peer
// whose queue is full, or that reads nothing for 30 s while the bridge
// writes to it, is closed. What was queued for a peer that is then closed
// is lost as what sat in its socket's buffers was: a result counts as
// handed over once queued.
// Each closed connection is logged and counted by reason (Stats).
//
// What a webapp's jobs hold past zmq4 is bounded too: the jobs the bridge
// submits and follows until they end count their message's size (at
// least 2 KiB) against MaxUnfinishedBytes (256 MiB); one over it is
// answered at once with a crash result naming inginious.max-unfinished-
// bytes. Each is held by the bridge's client, the backend and NATS until
// it ends, so that a webapp sending jobs faster than they ran could take
// all the memory of ingo up. A job with a value ingo's backend cannot take
// (a string not UTF-8, an integer over int64) is refused by the bridge,
// naming it: the backend would drop it without naming the job.
//
// Wrapping suffices: every allocation and panic above is reached from
// bytes the transport reads first, so zmq4 is used as released, not
// forked. Should a zmq4 release send another greeting, the transport
// closes every connection (it checks the greeting zmq4 writes against
// its own) rather than run out of step.
//
// The package lives in gateway/inginious, the INGInious gateway of
// DESIGN.md §2, and keeps the name bridge; importers name it explicitly:
//
//	bridge "github.com/ingo-grader/ingo/gateway/inginious"
package bridge
