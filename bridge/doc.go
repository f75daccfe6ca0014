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
package bridge
