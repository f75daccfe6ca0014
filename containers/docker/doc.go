// Package docker is the Docker runtime of the agent (containers.Runtime):
// one locked-down container per attempt, made from a grading image on the
// local daemon. It is the only package that imports the Docker SDK
// (github.com/docker/docker v28, API-version negotiation: a 20.10 daemon
// speaks API 1.41).
//
// # Client
//
// The SDK is used through narrow consumer-side interfaces (containerAPI,
// imageAPI, eventsAPI in client.go) that list only the calls made, so tests
// can substitute hand-written fakes. Each API call (create, attach, start,
// inspect, kill, remove, list) runs under Options.APITimeout; waiting for a
// container and the event and stats streams have no timeout of their own:
// the job's limits and contexts bound them.
//
// # Environments
//
// Every image labelled org.inginious.grading.name is an environment of type
// "docker" with that name; per name the newest image (Created) wins.
// org.inginious.grading.advertise=false hides it from clients (it is still
// scheduled), org.inginious.grading.ports and org.inginious.grading.title
// are passed on. org.inginious.grading.agent_version is not required. The
// runtime follows the daemon's image events (tag, untag, delete, import,
// load) and fires Changes (buffered 1, coalescing); a broken event stream
// is opened again with a backoff, and Changes fires then too, since events
// may have been missed.
//
// # Run
//
// One container per attempt (made for it, or taken from the warm pool, see
// below), created from the environment's image id with
// the labels io.ingo.agent, io.ingo.installation, io.ingo.session,
// io.ingo.job and io.ingo.attempt (see Cleanup; a warm container has
// io.ingo.pool instead of the last two); user
// 4242:4242; all capabilities dropped; no-new-privileges; Docker's default
// seccomp profile; network "none" unless the job sets network_grading (then
// Options.Network, "bridge" by default); a read-only rootfs with tmpfs
// mounts (see Disk below); Memory = MemorySwap = Limits.Memory MiB plus
// 8 MiB for the helper (no swap; the tmpfs mounts count inside; see Memory
// below); PidsLimit = Limits.Processes;
// NanoCPUs = Options.CPUs (1 by default, so one job cannot take every
// core; its student containers running at once share as much again,
// equally: studentShares); ulimits nofile = Options.NoFile and fsize = Limits.Disk MiB;
// no log driver (stdout is the channel; the runtime keeps the helper's
// stderr for its debug log); stdin open (OpenStdin, StdinOnce) and stdin,
// stdout, stderr attached.
//
// The files go in on stdin (no bind mounts: the agent also works in a
// container with the Docker socket mounted and no paths shared with the
// daemon; no copy API: it cannot write into the tmpfs mounts, which exist
// only while the container runs). The runtime attaches (ContainerAttach)
// before the start, starts, then writes one tar to stdin (and keeps it
// open, see Channel below): .ingo/input.json first (contract.Input: input
// data, limits, debug, run_cmd, ssh bounds), then task/ (the task bundle
// re-packed, every entry 4242:4242, directories 0755, task files 0755 as
// INGInious makes them, common files 0644 or 0755 as in the bundle,
// at most Limits.Disk MiB), task/student/ and archive/. The tar is
// streamed from the bundle as it is written (the agent keeps no unpacked
// copy of a job's files); the plan reads the bundle once before, to check it and
// size the mounts. A bundle is what its frontend stored, any bytes: both
// readings stop at the bounds of a folder bundle.Pack accepts (entries,
// bytes of files, path length and depth, and the decompressed stream,
// headers included; bundlebounds.go) and when the job ends. The image's
// entrypoint (ingo-helper run, see containers/helper, "Stdin mode")
// extracts it, finds and runs the run file, and sends its result over the
// channel. The runtime demultiplexes the attach stream (stdcopy), keeps
// the first 64 KiB of stderr for its debug log, and maps the result to
// messages.JobResult (stdout and stderr only in debug mode).
//
// Run is a few steps (run.go): plan (the SSH bounds, the image, the tar,
// contract.MaxResultBytes(Limits.Output), decided once into an attempt),
// launch (create with its volume, OOM watch, attach, start, files,
// channel), wait (waitStopped in wait.go, the one wait/kill/limit loop,
// shared with the student containers; a grading container's wait ends at its "die" event,
// which the daemon sends 15-20 ms before it answers the wait, after its
// cleanup) and collect (overflow, then the runtime's timeout, then the
// result from the channel).
//
// # Warm pool
//
// Creating and starting a container is most of a trivial job's time
// (fuse-overlayfs makes it slower still), and it does not depend on the
// job: the files come on stdin once the helper runs. So the runtime keeps,
// per environment of Options.Pool (pool.go, poolfill.go), Size started
// containers waiting: each is made by the very steps of a cold start
// (prepare: create with its volume, OOM watch from its creation, attach,
// start) for a job with Options.Pool.Limits (cmd/ingo gives the agent's default
// limits: what a job that sets none gets), no input yet, no course files
// and no network, and its helper waits on stdin. A job the pool is for
// takes one: the container is inspected (still running, same image, its
// watcher saw nothing wrong), then handed over as a cold one is after its
// start (channel, start reported, OOM counter polled, the tar written to
// the waiting stdin); the job's time limits count from then on. A
// container runs one job only and is removed after it as any other.
//
// Same container, same job: a pool container is the one a cold start of
// the job would make, so every limit, mount, label and status is the
// same. Hence who bypasses the pool and starts cold: SSH jobs (debug ssh,
// type docker-ssh) and debug jobs; network_grading; memory, processes,
// output or disk limits other than the pool's (time limits are the
// runtime's, after the start); course common files (/course is a mount
// of their size); an input.json over inputRoomBytes (256 KiB; /.ingo is
// sized for at least that much input, for cold starts too, so the two
// agree). A job of an alias uses its image's pool. The pool's limits
// follow the jobs: after shapeFollowAfter eligible jobs in a row asked
// the same other memory, processes, output and disk limits, its idle
// containers go and new ones are made for those (tasks set their own
// limits, and a deadline's jobs are mostly of a few tasks), at most once
// per shapeFollowEvery.
//
// Labels: the installation and session of the agent, learnt from Cleanup
// requests and jobs (the pool starts filling once it knows them, i.e.
// after the backend accepted the agent), plus io.ingo.pool=<a token of
// its own>, and no job or attempt label (the job is not known yet);
// student containers of the job carry the job's labels as always.
//
// Refill: one goroutine (stopped and waited for by Close) makes one
// container at a time, when a job took one, one died, or images changed;
// it waits while a cold start is under way (a job waits for that one),
// and backs off (0.5 s doubling to 30 s, reset by a hit) after a failed
// fill or a container that died idle, so an image that cannot run is not
// remade in a tight loop. In steady state it adds no work: each job's
// container is made anyway, before the job instead of during it.
//
// Idle containers are watched: the one goroutine per container reading
// its wait (which it passes on to the job that takes it) discards it when
// it stops, loses its attach stream (a daemon restart) or has an OOM
// kill; one that died in between is caught by the inspect when taken. An
// image event makes the refill look again: idle containers whose image is
// no longer their environment's go, and new ones are made of the new
// image. A new owner (installation, session) or new limits discard the
// idle ones too.
//
// Cleanup and Close: the pool knows the token of every container it has
// (being made, idle, running a job, being removed). Cleanup removes a
// warm container of its own session the pool no longer knows (a failed
// removal), of another session of its installation and agent id when the
// request lets other sessions go (a dead process's pool), and never one
// of another installation, agent id or without a session. Close removes
// the idle ones (Run has returned for all the others).
//
// # Channel, student containers, SSH
//
// stdin stays open after the tar: once the helper writes the marker line
// "INGO-MUX 1" (it has read the whole tar), the rest of stdout and stdin
// carry a yamux session (containers/channel; jobchannel.go is the agent's
// side); whatever stdout had before the marker is ignored. The result
// comes on the session's result stream, and only there (the helper and
// the agent ship from one commit): at most
// contract.MaxResultBytes(Limits.Output) bytes (over it: an error result
// saying so); none, or one cut short, is the crash "The grading container
// stopped without a result."
//
//   - /task/student is a volume of the local driver with tmpfs options
//     (sized as /task but at most Limits.Memory, with at most one file per
//     32 KiB of that, uid 4242, NoCopy so Docker
//     never copies the image's folder into it and makes it root's), labelled
//     like the containers, made per attempt by the grading container's
//     create (its mount carries the driver options and labels) and removed
//     after it (Cleanup removes leftovers). The daemon mounts it once for every container
//     using it: no host path is shared with the agent. What a container
//     writes there counts against that container's memory (see Memory).
//   - run_student (student.go): a sibling container of the same image (or
//     the one named), labelled io.ingo.role=student, user 4242, the same
//     lock-down, network none or container:<grading> with --share-network,
//     /task/student mounted, its own 1 MiB /task and /tmp, entrypoint
//     `ingo-helper student`, its SPEC in the environment
//     (INGO_STUDENT_SPEC: the student reads /proc/1/cmdline, not the
//     environment of a helper that is not dumpable, and ssh_student's
//     scripts are the task's); when the course has $common/student, a
//     tmpfs /course too, which its helper fills from a tar the agent
//     writes first on its stdin (studentcommon.go), with their modes, as
//     the grading container's /course/common. Limits: 0
//     inherits the grading container's, larger values are lowered to it; its memory cgroup allows exactly its
//     memory limit (no helper share: the student helper only starts the
//     command and waits), and the student containers of a job running at
//     once share Limits.Memory (memory.go): a call whose limit does not fit
//     in what the running ones leave waits, first come first served, before
//     its container is made; its CPU time is watched on its own
//     cgroup, its wall time by a timer. Attached like the grading
//     container; its stdout and stderr go to the call's streams, the call's
//     stdin to its stdin (after the common tar, if any); the call's signals become ContainerKill with that
//     signal. The code: an OOM kill 252, else over a limit 253, else the
//     exit status (an OOM kill just before the agent's own kill over a
//     limit is 252 only if the daemon already flagged it). At most 8 per
//     job at once (more calls wait). Removed when the call ends, and
//     killed when the job ends.
//   - SSH (sshrelay.go), when Options.SSH has ports: for debug "ssh" jobs
//     (the helper serves SSH instead of the run file) and ssh_student (the
//     student helper serves it), the agent listens on a free port of the
//     range, tells the client host, port, user and password (Events.SSHDebug,
//     once per job), and relays each TCP connection as a stream of the
//     container's session: the container keeps network none. Connections
//     not logged in yet are bounded per source and per server, and
//     logged-in ones apart (sshgate.go has the design). An SSH job's
//     wall time becomes MaxSession plus a minute, a debug "ssh" job's
//     CPU time too (sshLimits). Images are offered as
//     type "docker-ssh" too; only such jobs may call ssh_student (any
//     other ends as crash, as INGInious ends it: jobChannel.endJob). A debug
//     "ssh" job that comes while sessions hold every port is handed back
//     (Failure with Requeue) before a container is made; a server that
//     finds no port once its container runs is told so at once, and the
//     job ends as crash: none waits for a port.
//
// # Limits
//
//   - CPU time: read from the container's cgroup every Options.CPUPoll
//     (100 ms): cgroup v1 cpuacct.usage under /sys/fs/cgroup/cpuacct/ or
//     cpu,cpuacct/ (docker/<id> or system.slice/docker-<id>.scope, or the
//     path /proc/<pid>/cgroup gives for the container's init process, kept
//     only when it names the container), cgroup v2 cpu.stat usage_usec
//     (system.slice/docker-<id>.scope or docker/<id>). When none is readable
//     (an agent in a container without the host's cgroup tree) the Docker
//     stats stream is used instead (about one sample a second). Over
//     Limits.Time: SIGKILL, result timeout.
//   - Wall time: Limits.HardTime from the start: SIGKILL, result timeout.
//   - Memory (oom.go, issue 14): as INGInious, an OOM kill of any process
//     of the grading container makes the job overflow, even when the run
//     file survives it and says success; the text is INGInious' (its
//     agent sends "overflow" with an empty text), and overflow wins over a
//     timeout. Three signs, any one suffices, on cgroup v1 and v2 alike:
//     (1) the daemon's "oom" events of the container (events API, filtered
//     on its id, asked from its creation on so none is missed while the
//     subscription is made); after the exit the runtime waits (at most 2 s)
//     for the container's "die" event, since an "oom" sent before it may
//     still be on its way (the daemon may also send an "oom" after the
//     "die": (2) covers that); (2)
//     the oom_kill count of its memory cgroup, polled every CPUPoll while
//     it runs and read once more when the result comes (the helper still
//     runs; the kernel counts a kill before it signals the victim, so
//     every OOM kill of the grading is counted by then, which the "oom"
//     event is not: on a loaded machine it was seen to come after the
//     "die"): cgroup v1 memory.oom_control under the memory controller
//     (kernel 4.13 and later), cgroup v2 memory.events, found as the CPU
//     accounting is (docker/<id>, system.slice/docker-<id>.scope, or
//     /proc/<pid>/cgroup); it needs the host's cgroup tree, and an OOM
//     kill of the helper itself (no result) is left to (1) and (3),
//     since the cgroup is gone once the container stopped; (3)
//     State.OOMKilled after the exit, whose meaning depends on the daemon
//     and its containerd (Docker 20.10 sets it for any process of the
//     container). (3) is the daemon's record of the containerd OOM events
//     it publishes as (1): it is asked (an inspect, which the daemon
//     answers only after its cleanup after the exit) unless the "die" came
//     on the stream after a whole result and (2) was read at the result
//     (stoppedEarly), when it could tell nothing (1) and (2) did not.
//     The helpers give the commands they start (the run file, a
//     student's command) an oom_score_adj of 500 from their first
//     instruction (inherited from the helper's own, raised around the
//     fork), their own staying 0, so that the OOM killer takes those
//     first even when the memory is files (tmpfs pages count to no
//     process, which left the helper the largest process). The memory
//     stays full after such a kill and the helper's code pages are
//     reclaimable, so the helper may still die: the daemon's word tells
//     the overflow (or a student container's 252) then. A grading container stopped by SIGKILL without a result,
//     and not by the agent, may still have lost its helper (the commands
//     had nothing left to kill): (3) is asked for again then, up to
//     lateOOMWait (CI saw it, and the "oom" event it records, come after
//     the "die", when the event watch has stopped reading).
//     Once (1) or (2) is seen the container is killed at once
//     (the result is overflow whatever the run file does next; INGInious
//     kills it on the event too). Scope: the events name the grading
//     container's id and the counter is its own cgroup's; a student
//     container has another id and a sibling cgroup (the v2 count, which
//     includes child cgroups, has none to include), so an OOM kill there
//     is the student container's own: run_student returns 252 and the job
//     keeps its result. The student helper (PID 1 there) tells it: when its
//     command ends in SIGKILL (or says 137) it reads its own cgroup's
//     oom_kill count, already counted before the kill, and exits 252. The
//     container's State.OOMKilled, which may come seconds late, is asked for
//     a 137 the helper did not turn (lateOOMWait), unless the agent's
//     own kill over a limit explains it. An exit 137 with no sign is not
//     guessed at.
//     What the limit covers (issue 13): tmpfs pages are charged to the
//     memory cgroup of the process that writes them and there is no swap,
//     so a container's limit bounds its processes and its files together:
//     the task files, the input, what the grader writes to /task, /tmp,
//     /archive, /task/student and /dev/shm (Docker's 64 MiB) all count
//     inside Limits.Memory. The tmpfs mounts are not added to the limit (a
//     job would otherwise hold its memory plus its disk, and a grader that
//     writes no files could use that much more memory): a job holds what
//     it asked for. The price: a grader that fills its memory with files
//     ends as overflow (the OOM killer acts, on cgroup v1 and v2 alike),
//     not with ENOSPC; a disk limit larger than the memory limit is only
//     reachable as far as memory allows. No mechanism puts tmpfs outside a
//     cgroup (mount options have none; a parent cgroup the agent sets
//     needs the host's cgroup tree), hence this choice.
//     The grading container gets a fixed 8 MiB on top (helperMemory) for the
//     helper itself, so that a job of 32 MiB still runs; it does not grow
//     with the tmpfs sizes. Student containers get their limit exactly and
//     share Limits.Memory (see run_student above). /task/student is at
//     most Limits.Memory, and at most a file per 32 KiB of it (4096 to
//     16384 files and folders: each costs the kernel 1 to 3 KiB no size
//     counts): what ended student containers left there is charged to no
//     running container. JobMemory (memory.go) sums it all, (M + 8) + M +
//     min(disk, M) MiB for M = Limits.Memory plus 12 to 48 MiB for those
//     files, and the agent's admission counts that against agent.memory.
//     TCP buffers: cgroup v2 charges them to the memory limit; cgroup v1
//     to none unless memory.kmem.tcp.limit_in_bytes is written, and runc
//     1.1 and later ignore Docker's KernelMemoryTCP. So on a v1 daemon
//     (Info's CgroupVersion) the runtime asks for KernelMemoryTCP and
//     writes that file itself (boundTCP), a quarter of each container's
//     memory limit, right after the start and before any code but the
//     helper runs (a socket made before is never charged): for a grading
//     container before its files go in; a student container is always
//     given a common tar on v1 (the folder course/ alone, on a 64 KiB
//     /course, when the course has no common student files), which its
//     helper reads before it starts the command. Runtime.JobMemory adds those
//     quarters (of M + 8 and of M) on v1. Writing it needs the host's
//     cgroup tree, writable (an agent as root); without, the agent says
//     so once, and a job's TCP buffers are bounded only by the host-wide
//     net.ipv4.tcp_mem.
//   - Disk (choice (b) of issue 3): the rootfs is read-only; the only
//     writable places are tmpfs mounts with a size, so their total is
//     bounded whatever the storage driver (fuse-overlayfs has no quota):
//     /task Limits.Disk MiB (1 GiB without one; the task files count),
//     uid/gid 4242, mode 0755, exec; /tmp a quarter of that, at least
//     16 MiB (or Limits.Disk when smaller), at most 256 MiB, mode 1777,
//     exec; /.ingo twice input.json (at least 256 KiB) plus three MaxResultBytes(Limits.Output)
//     plus 1 MiB, and /archive MaxResultBytes(Limits.Output) but at least
//     16 MiB, both uid/gid 4242, mode 0755, noexec; all nosuid, nodev. A
//     write past a mount's size fails with ENOSPC and the job goes on to its
//     result (memory running out first is an overflow, see Memory).
//     RLIMIT_FSIZE (Limits.Disk MiB, never below what the helper's feedback
//     and result may need) also bounds each file, /dev/shm included.
//
// # Usage
//
// Every result the runtime makes (the grader's, timeout, overflow) says
// what the job used (messages.Usage; usage.go, usagejob.go): a
// container's cgroup is gone once the daemon says it stopped, so its
// accounting is read while it runs, by the loop that watches its CPU
// limit (every CPUPoll, for every container now, limit or not), and for
// the grading container once more when its result comes over the channel
// (the helper exits only once the agent has it, so the cgroup is still
// there and the grader is done). The figures are the highest read, so
// lower bounds: what was used after the last read (for a result the
// helper's exit, for a kill the moment of the kill) is not counted.
//
//   - CPU time: cgroup v1 cpuacct.usage, v2 cpu.stat usage_usec (user and
//     system, all processes of the container, the helper's included).
//   - Peak memory: cgroup v1 memory.max_usage_in_bytes, v2 memory.peak
//     (Linux 5.19 and later), else the highest memory.current read. The
//     memory cgroup counts the tmpfs files too (see Memory).
//   - Wall time: State.StartedAt to State.FinishedAt of the daemon's
//     inspect after the exit; a warm container started before its job,
//     so its wall time is the agent's clock from the hand-over to the
//     wait's return.
//   - Student containers: the same for each, by its own loop, summed in
//     Usage.Students (CPU and wall time added, the highest peak of one).
//   - Without the host's cgroup tree (an agent in a container with the
//     Docker socket mounted): Docker's stats stream (about one sample a
//     second) while it runs, and a one-shot stats call when the result
//     comes. cgroup v1 daemons give the peak (max_usage), cgroup v2 ones
//     only the current use, so there the peak is the highest one sampled.
//     A stopped container's stats are zeros: they count as no figure.
//
// A figure nothing could read is 0, which the wire leaves out: unknown,
// never a guess.
//
// # Kill, cleanup, errors
//
// Create and start run on contexts the job's cancellation does not cut
// short (a create cut mid-request may still make a container), and the
// cancellation is checked after each step: a job cancelled while its
// container is being created is removed and never started. Once it runs,
// the cancellation sends SIGKILL, and Run returns an error wrapping
// context.Cause. Whatever happens, the container is removed (force,
// volumes) at the end on a fresh context: before Run returns an error,
// and in the background once Run returned a result (the container has
// stopped, and its removal, tens of ms on fuse-overlayfs, would only
// delay the result; Close waits for these removals, and Cleanup leaves
// them alone); what a failed removal leaves,
// Cleanup removes: it lists the containers and volumes labelled
// io.ingo.agent=<this agent's id> and removes those the request lets go
// (containers.CleanupRequest): of the agent's installation
// (io.ingo.installation), and of its own session (io.ingo.session) with an
// attempt it does not run, or of another session once the backend accepted
// this one, which it does only while no other process of the id is live.
// Another installation's agent of the same id on the same host (two `ingo
// up` on one machine name their agents after the host), and resources of an
// ingo without session labels, are never touched.
//
// Errors that stop a job before it ran are *containers.Failure with a
// public text that names no host path.
//
// # Tests
//
// The tests run against the real daemon; requireDocker skips them when no
// daemon answers, unless INGO_REQUIRE_DOCKER=1. TestMain builds the images
// with containers/images/build.sh when ingo/env-default is missing.
package docker
