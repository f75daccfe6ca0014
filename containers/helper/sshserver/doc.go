// Package sshserver is the SSH server of ingo-helper's "SSH debug": a
// student logs into the grading container to look around after (or
// instead of) the grading.
//
// The container has no network, so there is no port to listen on and no
// sshd to install in every image: the agent accepts TCP connections on the
// host and relays each one into the container as a stream, and the helper
// hands each stream to Server.Serve. The package is therefore fed
// connections rather than owning a listener, and it is pure Go so that the
// helper stays one static binary.
//
// What is accepted is deliberately narrow, because the user is a student
// with a one-off password, not an administrator:
//
//   - password authentication only, for one user, at most 3 tries per
//     connection, and the connection is closed if it has not
//     authenticated within Options.HandshakeTimeout (20 s by default);
//   - after a failed password, the next attempts of the same connection
//     or the same source wait 0.5 s, doubled per failure up to 5 s,
//     before the password is even checked, so that hanging up and
//     reconnecting saves nothing; a success forgets the source's failures;
//   - "session" channels only: no port forwarding, no X11, no agent, no
//     subsystems (so no sftp; scp through exec works if the image has it);
//   - each shell or command runs in its own session and process group, as
//     the helper's own uid, so that it can be signalled and killed as a
//     whole when the client asks, leaves, or the caller cancels.
//
// The source is the host of the connection's RemoteAddr. Behind the
// agent's relay every connection is a stream of the container's channel,
// so the helper gives Serve a conn whose RemoteAddr is the source the
// agent saw (an IPv4 address, an IPv6 /64), and tells the agent through
// Options.OnLogin which connection has logged in. The agent bounds the
// connections not logged in yet per source and per server, and the
// logged-in ones apart (containers/docker, sshgate.go): an idle client
// holds a slot for HandshakeTimeout at most, and a flood from one source
// cannot keep another source out.
//
// Every session can be recorded into a transcript file, because the
// teacher may want to see what was done in the container; all transcripts
// together share one byte budget so that a runaway loop cannot fill the
// disk that the grading results live on. The exit code in a transcript's
// last line is 128+N for a death by signal N, as shells report it.
//
// A session ends when its process exits. Output is flushed to the client
// before the exit status is sent, but only for a bounded time afterwards:
// a process left in the background may hold the terminal open forever, and
// the session's process group is killed then.
package sshserver
