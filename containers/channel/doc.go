// Package channel is the protocol between a grading container and its agent
// while the job runs: run_student and ssh_student ask the agent for student
// containers through it, and the agent relays SSH connections into the
// container through it. It needs no network in the container and no path
// shared between the agent and the Docker daemon: it rides on the
// container's attach stream, the same stdin and stdout that carry the task
// files in; the result comes out through it too.
//
// # Opening
//
// The helper (`ingo-helper run`, PID 1) reads the task tar from its stdin
// to the tar's end-of-archive marker, then writes the line Marker
// ("\nINGO-MUX 1\n") on its stdout. From there, stdout (after the marker)
// and stdin (after the tar) carry one yamux session (Config): the helper is
// the client, the agent the server. The agent starts its side only once it
// has read the marker, so it never writes to stdin before the helper has
// finished reading the tar. The helper and the agent ship from one commit:
// the session is the only way the result comes back, and a helper whose
// session fails exits non-zero (the runtime then reports a container that
// stopped without a result). A helper that refused the tar still reads it
// to its end first, so that the session starts and carries that crash.
//
// # Streams
//
// Every stream starts with one header line written by the side that opened
// it: a JSON Header and "\n", at most MaxHeader bytes. What follows depends
// on Kind:
//
//   - KindResult (helper -> agent): the result, framed (ResultFrame:
//     "INGO-RESULT n\n" and n bytes of result.json; WriteResult,
//     ReadResult), so that the agent knows it has all of it. The agent reads
//     at most its bound (contract.MaxResultBytes of the job's output
//     limit), closes the stream once it has the whole frame or saw it over
//     the bound, and takes the first result stream only; the helper waits
//     for that close (bounded) before it exits, so the result is never
//     lost in a buffer.
//   - KindStudent (helper -> agent): a run_student or ssh_student call,
//     Header.Student holding the request. Then JSON lines both ways:
//     Control from the helper (signals, kill), Event from the agent
//     (EventReady once the call has a student slot, EventStarted,
//     EventExit). The agent sends exactly one EventExit, then closes; a
//     stream closed by the helper before that kills the student container.
//     The helper opens the call's three io streams after EventReady only.
//   - KindStdin, KindStdout, KindStderr (helper -> agent, Header.ID naming
//     the KindStudent stream's ID): the student process's stdin (bytes from
//     the helper; the helper's close is end-of-file) and its stdout and
//     stderr (bytes from the agent, closed at the end of each). The agent
//     sends EventExit only after closing stdout and stderr, so a caller that
//     reads both to their end before taking the exit code loses nothing.
//   - KindSSHDebug (container -> agent): the container serves SSH; the
//     header holds the user and password. The agent listens on a port of
//     its range, answers one Event (EventListening with the port, or
//     EventExit with a reason when it cannot), sends the credentials to the
//     client, and relays every TCP connection as a KindSSH stream. The
//     stream stays open while the SSH server runs; its close ends the
//     listening. The helper writes a Control line with LoggedIn on it
//     each time a relayed connection authenticates (the agent bounds
//     pending and logged-in connections apart).
//   - KindSSH (agent -> container): one relayed TCP connection, raw SSH
//     bytes after the header; the header's ID names the connection and
//     Remote its source.
//
// Inside a grading container, processes reach the helper's session through
// the unix socket SocketPath: each connection is proxied byte for byte to
// one new stream (header included), until the agent closed its side of the
// stream: the proxy then closes the stream and the connection, whatever
// the process does. The helper lets only KindStudent, KindStdin,
// KindStdout and KindStderr through, so nothing a run file or a student
// program does can pass for the helper's result.
//
// A student container's stdin (StudentSpec.Common) first carries a tar of
// the course's common student files, then the caller's stdin, or its own
// session for ssh_student.
package channel
