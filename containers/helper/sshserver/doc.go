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
//     connection;
//   - "session" channels only: no port forwarding, no X11, no agent, no
//     subsystems (so no sftp; scp through exec works if the image has it);
//   - each shell or command runs in its own session and process group, as
//     the helper's own uid, so that it can be signalled and killed as a
//     whole when the client asks, leaves, or the caller cancels.
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
