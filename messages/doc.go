// Package messages is ingo's wire protocol: every message that travels over
// NATS, the CBOR codec that encodes them, the subjects they travel on, the
// result statuses and the protocol version.
//
// # Encoding
//
// One NATS message carries one ingo message, encoded as CBOR with a tag
// (RFC 8949 §3.4) whose number names the message type, or a Batch of them
// for one receiver (protocol 3): what a peer sends to one subject at once
// travels together, since at a deadline a NATS message's fixed cost (a
// read, a parse, a hand-over between goroutines in every process on its
// way) is most of what a small message costs. Senders make batches only
// of what is already waiting (Pack; natsconn.Coalescer in the agent and
// the client library, one per turn of the backend's loop), so a lone
// message never waits; receivers Split a batch and handle its items in
// order, each as if it had come alone. The tag numbers are registered in
// one table (registry.go); a decoder needs no side channel to know what
// it holds. Decoding is strict and bounded (see codec.go): unknown
// fields, duplicate map keys, invalid UTF-8, over-deep nesting and over-size
// items are errors, never panics. The four messages every job crosses
// (ClientNewJob, BackendNewJob, AgentJobDone, BackendJobDone) and the job
// history's records (BackendHistory) are decoded and encoded by hand
// (fastread.go, fastdecode.go, fastencode.go, fasthistory.go), about
// twice as fast as the reflective codec; the hand-written path takes only
// what it is sure of and leaves the rest, errors included, to the
// reflective one, and FuzzDecode holds the two to the same values and
// bytes.
//
// # Who talks to whom
//
// Messages keep the names and meanings of INGInious (inginious/common/messages.py);
// the additions fix its gaps and are marked as such on each type.
//
//	client  -> backend  on SubjectBackendClient, reply subject = ClientSubject(id)
//	backend -> client   on ClientSubject(id)
//	agent   -> backend  on SubjectBackendAgent, reply subject = AgentSubject(id)
//	backend -> agent    on AgentSubject(id)
//
// The reply subject of a message sent to the backend is both the sender's
// identity and its return address: the backend answers a client on
// ClientSubject(id) and an agent on AgentSubject(id). A message whose reply
// subject is not of that form is refused with an Error where a reply subject
// exists at all, and is otherwise logged and counted.
//
// # Delivery rules
//
//   - Every job has exactly one final result: BackendJobDone to the client that
//     submitted it. The frontendclient library deduplicates by job id.
//   - Agents number every job message with the attempt the backend gave in
//     BackendNewJob. A message about an attempt that is no longer current is
//     refused (Error with CodeStaleAttempt) and the backend kills that attempt.
//   - AgentJobDone (and AgentJobRefused, for an attempt the agent could not
//     take) is answered by Ack or Error; an agent keeps a result and sends
//     it again until one of them arrives.
//   - Every process subscribed to an agent's subject receives what is sent
//     there. Messages about one process's registration or attempts name its
//     Session (AgentHello.Session), and the others drop them.
//   - AgentJobSSHDebug is sent at most once per attempt.
//   - The backend handles one peer's messages in the order they were sent
//     and answers them in that order (BackendJobQueued for a job never
//     overtakes the Pong of a later Ping). The client library relies on it.
//   - NATS answers a message with a reply subject that nobody receives (the
//     backend is down) with an empty 503 status message on that reply
//     subject; peers treat it as "backend absent", not as a malformed
//     message (natsconn.IsStatus).
package messages
