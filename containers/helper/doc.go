// Package helper is ingo-helper, the program inside every grading container:
// the image's entrypoint (`ingo-helper run`) and, as a multi-call binary, the
// commands INGInious gives task authors (getinput, feedback-result,
// feedback-msg, parsetemplate, archive...), with INGInious' names, flags and
// behaviour so that existing run files work unchanged. It depends on the
// standard library, yamux (the channel to the agent) and x/crypto/ssh with
// creack/pty (SSH), and builds as one static binary:
//
//	CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' ./containers/helper/cmd/ingo-helper
//
// This comment is the contract between the helper and the container runtime
// (containers/docker); docs/task-authors.md is the task authors' side. The
// exported types (Input, Limits, Result, ProblemResult), path constants and
// MaxResultBytes are the contract in Go, in the leaf package
// containers/helper/contract for the runtime to import.
//
// # Image
//
//   - The helper is at /usr/local/bin/ingo-helper; the entrypoint is
//     ["/usr/local/bin/ingo-helper", "run"].
//   - `RUN ["/usr/local/bin/ingo-helper", "install-links", "/usr/local/bin"]`
//     creates one symbolic link per command (see CommandNames), replacing
//     files of the same name (INGInious' Python scripts in images built on
//     INGInious' base). No shell needed.
//   - A user "worker" uid/gid 4242 should exist (nice for `id`, not needed).
//   - The image's ENV PATH is the run file's PATH; INGO_PASS_ENV (names,
//     space-separated) lists further image variables the run file gets.
//   - Anything the run file needs (bash, python3, gcc...) is the image's
//     business; the helper needs nothing else.
//
// # Container
//
// The runtime creates the container with: user 4242:4242, working directory
// /task, all capabilities dropped, no-new-privileges; no --init needed (the
// helper reaps orphans as PID 1; with --init it works too). The container
// has these files, every entry owned by 4242:4242, directories 0755:
//
//	/task/              the task folder (its files with their modes), writable
//	/task/student/      empty if the task has none (the helper creates it if missing)
//	/.ingo/             writable by 4242; the helper keeps its files here
//	/.ingo/input.json   the job input, see Input, readable by 4242
//	/archive/           empty, writable by 4242 (the helper cannot create it in /)
//
// They arrive in one of two ways:
//
//   - File mode: the files are in place before the helper starts (tests
//     and local runs), and the result is /.ingo/result.json once it
//     stopped.
//   - Stdin mode (containers/docker): /task, /tmp, /.ingo and /archive are
//     empty tmpfs mounts of a read-only rootfs, the runtime writes one tar
//     to the helper's stdin, and the result goes back over the channel
//     (see "Stdin mode" below). The helper uses it when /.ingo/input.json
//     does not exist at its start and its stdin is not a terminal or other
//     character device (/dev/null: no stdin).
//
// input.json:
//
//	{"input": {"q1": "text", "q2": ["a", "b"],
//	           "up": {"filename": "main.c", "value": "<base64>"},
//	           "@username": "alice", "@lang": "en", "@state": "", ...},
//	 "limits": {"time": 10, "hard_time": 30, "memory": 256, "output": 1048576, ...},
//	 "debug": "" | "debug" | "ssh",
//	 "run_cmd": "optional command replacing the run file discovery"}
//
// "input" is INGInious' inputdata as the client sent it. Of "limits" the
// helper uses only "output" (bytes; DefaultOutputLimit when absent); the
// runtime enforces the others. Unknown keys are ignored.
//
// # What `ingo-helper run` does
//
//  1. Removes any old /.ingo/result.json and /.ingo/feedback.json, reads
//     input.json, creates /task/student, writes each uploaded file to
//     /.ingo/files/<problem id>/<file name>, and INGInious' start message to
//     /.ingo/__input/__inputdata.json (uploads' values the paths of their
//     files), which images link as /.__input for run files that read it.
//  2. Finds the grader: run_cmd if set (split on spaces, as INGInious; the
//     first word looked up in PATH, or relative to /task), else the first of
//     /task/run, /task/run.sh, /task/run.py, /task/run.py3 that exists,
//     else the same in /course/common (the course's common run file). An
//     executable run file is executed (falling back to its default
//     interpreter on ENOEXEC); a non-executable one with a "#!" line runs
//     through that interpreter; a non-executable ELF file is made executable;
//     otherwise it runs through its default interpreter: python3 for run.py
//     and run.py3, bash (or /bin/sh without bash) for run and run.sh, as
//     INGInious runs run.sh with bash.
//  3. Runs it in /task, in its own process group, with stdin empty and a
//     clean environment: PATH (the image's, else a standard one),
//     HOME=/task, LANG=C.UTF-8, INGO_OUTPUT_LIMIT (limits.output, for the
//     commands), the variables named by INGO_PASS_ENV, and INGO_HELPER_ROOT
//     when set. stdout and stderr are captured, the first limits.output
//     bytes of each kept, the rest read and dropped (never blocking it).
//  4. SIGTERM and SIGINT received by the helper are forwarded to the run
//     file's process group; the helper then goes on and writes the result
//     from whatever feedback exists. (A signal before the run file started:
//     result "killed".) The runtime's kill is SIGKILL: no result. The
//     signals Go's runtime would exit of (SIGHUP, SIGQUIT, SIGABRT, SIGSEGV
//     and the like sent with kill) are absorbed, in `ingo-helper student`
//     too (which passes SIGHUP and SIGQUIT on to its command): the
//     processes of a container are the helper's uid and may signal it.
//  5. When the run file exits, the helper kills what it left running: as
//     PID 1, every other process of the container (kill(-1, SIGKILL)); else
//     the run file's process group, and it stops waiting for the output of
//     escaped processes after 2 s. So background processes never hold the
//     result back.
//  6. Packs /archive (directories, files, symbolic links) as a tgz, reads
//     the feedback, and hands the result over: in file mode it writes
//     /.ingo/result.json atomically (temporary file, fsync, rename), in
//     stdin mode it sends it over the channel (and writes no result.json,
//     which nobody would read), then exits 0. It exits non-zero, with a
//     message on its stderr, only when it could not hand the result over:
//     the runtime treats a missing result as a crash (or its own
//     timeout/overflow verdict).
//
// The helper has no time limit of its own: the runtime enforces time and
// memory, and decides timeout/overflow itself (the result is then absent
// or ignored). The helper writes to its own stdout nothing but, in stdin
// mode, the channel (its marker, then the session), and to its own stderr
// (the container log) only a few diagnostic lines prefixed "ingo-helper
// run:"; the run file's output never goes there.
//
// # Stdin mode
//
// The tar on stdin holds, in this order: .ingo/ and .ingo/input.json
// (first, so that its limits.disk is known), task/ with the task folder,
// task/student/, archive/. The helper reads it to its end-of-archive
// marker (it does not need stdin closed) and extracts it under / with
// os.Root, refusing the whole tar at the first entry that is not a
// directory or regular file (links, devices, fifos), has an absolute name
// or a ".." element, lies outside task/, archive/ and the one file
// .ingo/input.json (a second input.json too), or is too large: input.json
// over MaxStdinInputBytes, the files of task/ and archive/ over
// limits.disk MiB in total (DefaultStdinTaskBytes without one). Files get
// mode 0755 when any x bit is set in the tar, else 0644; owners come from
// the helper's own uid (4242), not from the tar. A refused tar is a result
// "crash" with the text "The grading container could not receive its
// files: <why>" (the run file does not run): the helper reads the rest of
// the tar to its end-of-archive marker, discarding it (at most 1<<20
// entries), then opens the channel and sends that result over it; when
// the rest cannot be read (a broken or cut tar), it exits non-zero with a
// message on stderr and the runtime reports a container stopped without
// a result. An empty stdin (no entry) is file mode.
//
// Once the tar is read, the channel starts (see "Channel" below) and the
// result goes over it, and only there: on its result stream, as
// "INGO-RESULT <length>\n" followed by exactly length bytes (result.json's
// content). The helper waits (at most 10 s) for the agent to close that
// stream, so that the result is never lost in a buffer; when the channel
// fails, the helper exits non-zero with a message on stderr.
//
// # result.json
//
//	{"result": "success", "text": "...", "grade": 87.5,
//	 "problems": {"q1": {"status": "failed", "text": "..."}},
//	 "tests": {"compiled": true, "*auto-tag-123": "value"},
//	 "custom": {"score": 56}, "state": "",
//	 "archive": "<base64 tgz>",             (absent when /archive is missing or empty)
//	 "stdout": "...", "stderr": "...",      (always present; the runtime forwards them in debug mode only)
//	 "truncated": ["stdout", ...],          (always present, maybe empty)
//	 "exit_code": 0}
//
// Every key is always present but "archive". Rules, INGInious' unless said:
//
//   - result: as set by the run file; "error" when it set none, with text
//     "The grader did not give any feedback." when it set nothing at all, or
//     "The grader did not give any result." when it set no text either. A
//     status outside success, failed, error, crash, timeout, overflow,
//     killed becomes "crash" (INGInious' frontend does so), with a note at
//     the start of the text. An unknown problem status becomes "crash"
//     too; a problem given only a text has status "".
//   - grade: as set; else 100 for success, 0 otherwise.
//   - problems keys match (?i)^[a-z0-9\-._]+$, tests keys the same plus '*'
//     (the commands refuse other ids); tests values are true/false (tag-set)
//     or strings (tag). custom values are any JSON.
//   - state: as set, else "" (not the previous state: INGInious' rule).
//   - exit_code: the run file's exit status, 128+N when killed by signal N,
//     -1 when it did not run.
//   - The helper's own failures are results with status "crash" and a short
//     text: input.json unreadable or malformed, no run file, a run file that
//     cannot start, debug "ssh" without a channel to the agent.
//   - A feedback file that is corrupt or badly formatted (hand-edited):
//     "error" with a text saying why.
//
// # Output limit
//
// L = limits.output bounds, in bytes of the JSON encoding (escapes
// included, so the size of result.json is known whatever a run file
// prints):
//
//   - stdout and stderr: at most L each; a cut one ends with a note
//     "[ingo: stdout cut here: over the output limit of L bytes]" inside L;
//     "stdout"/"stderr" in truncated.
//   - texts: the global text and the problems' texts share L, filled in
//     that order (problems by id); a cut text ends with a note, a text
//     with no budget left is emptied; "text" and/or "problems" in
//     truncated. Result, grade and statuses are untouched.
//   - the rest of the feedback (result, grade, problem ids and statuses,
//     tests, custom, state): at most L, else the result becomes "error"
//     with a text saying the feedback is too large, problems, tests and
//     custom emptied, grade 0; "feedback" in truncated.
//   - archive: the tgz at most L bytes, else dropped (the key absent) and
//     "archive" in truncated; the rest of the result stays.
//
// So result.json is at most MaxResultBytes(L) = 8L + 64 KiB; a runtime may
// refuse to read more. While the run file works, the commands also keep
// each text at most L+1 bytes in the feedback file, so loops of appends
// stay cheap.
//
// # Feedback file
//
// /.ingo/feedback.json holds the feedback in INGInious' layout (what
// `feedback -p` prints); every command updates it under an exclusive flock
// on /.ingo/feedback.json.lock and replaces it by rename, so run files may
// call commands concurrently from background processes.
//
// # Channel, student containers, SSH
//
// In stdin mode, once the tar is read, the helper writes the line
// "INGO-MUX 1" on stdout and its stdin and stdout become a yamux session
// with the agent (containers/channel documents it); the result travels on
// a stream of that session. Processes of the container reach the
// session through the unix socket /.ingo/channel.sock, which the helper
// proxies to new streams (only the kinds of run_student and ssh_student).
//
//   - run_student and ssh_student (student_cmd.go) ask the agent for a
//     student container and relay stdin, stdout, stderr and signals; the
//     return code is the command's, or 252 (memory), 253 (time), 254 (could
//     not launch; also when there is no channel: file mode).
//   - `ingo-helper student` is the student container's entrypoint, its
//     SPEC (channel.StudentSpec) as JSON in INGO_STUDENT_SPEC (or as its
//     argument), never on the command line the student can read: it
//     first unpacks the course's common student files from the tar that
//     opens its stdin when SPEC says so (Common; stdin.go, to
//     /course/common/student, with their modes), then runs the command
//     with the container's stdio (which the agent relays),
//     forwards the signals the agent sends, and exits with the command's
//     status (127 not found, 126 cannot execute, 256-N signal N, as
//     INGInious' student container gives it); with SSH
//     in SPEC it runs the setup script, serves SSH over its own channel, then
//     the teardown script.
//   - debug "ssh": instead of the run file, the helper serves SSH (package
//     sshserver; user worker, a random password per job) on the streams the
//     agent relays, after telling the agent the credentials. input.json's
//     "ssh" gives the login wait and the maximum (2 min, 30 min by default).
//     Nobody logged in: crash "[SSH Debug] Nobody connected to the SSH
//     server."; everybody left: the feedback set meanwhile, its text after
//     "[SSH Debug] The SSH session ended."; the maximum reached: the same,
//     saying so. Transcripts go to /archive/ssh_logs/.
//
// # Tests
//
// INGO_HELPER_ROOT, when set, prefixes every path above (/task, /.ingo,
// /archive), and stdin mode extracts under it; it is for tests only and
// passed on to the run file.
package helper
