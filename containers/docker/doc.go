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
// can substitute hand-written fakes. Each API call (create, copy, start,
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
// One container per attempt, created from the environment's image id with
// the labels io.ingo.agent, io.ingo.job and io.ingo.attempt; user
// 4242:4242; all capabilities dropped; no-new-privileges; Docker's default
// seccomp profile; network "none" unless the job sets network_grading (then
// Options.Network, "bridge" by default); Memory = MemorySwap =
// Limits.Memory MiB (no swap); PidsLimit = Limits.Processes; NanoCPUs =
// Options.CPUs (1 by default, so one job cannot take every core); ulimits
// nofile = Options.NoFile and fsize = Limits.Disk MiB (see Disk below);
// json-file log capped at 1 MiB (the helper writes only diagnostics there).
//
// Before the start, one tar goes in through the copy API (no bind mounts:
// the agent also works in a container with the Docker socket mounted and no
// paths shared with the daemon): task/ (the task bundle re-packed, every
// entry 4242:4242, directories 0755, files 0644 or 0755), task/student/,
// .ingo/input.json (helper.Input: input data, limits, debug, run_cmd) and an
// empty archive/. The image's entrypoint (ingo-helper run, see
// containers/helper) finds and runs the run file and writes
// /.ingo/result.json; after the container stops the runtime copies it out,
// bounded by helper.MaxResultBytes(Limits.Output) (over it: an error
// result saying so), and maps it to messages.JobResult (stdout and stderr
// only in debug mode). No result.json: crash "The grading container stopped
// without a result."
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
//   - Memory: State.OOMKilled after the exit (set by the daemon on cgroup v1
//     and v2 when the OOM killer acted in the container, even on a child of
//     the helper): result overflow, which wins over a timeout. An exit 137
//     without OOMKilled is not guessed at: the container's cgroup (and its
//     memory.failcnt / memory.events) is gone once it stopped.
//   - Disk: the writable area is the container's rootfs layer (choice (a) of
//     issue 3): Docker's storage drivers give a size quota only on some
//     backing filesystems, and fuse-overlayfs (this project's CI) has none.
//     The runtime bounds what it can: each file at Limits.Disk MiB (RLIMIT_FSIZE,
//     never below what result.json may need), the task folder at Limits.Disk
//     when unpacked, output through the helper. A run file can still fill
//     the daemon's disk with many files under the limit; hosts that need a
//     hard bound should use a storage driver with quotas (overlay2 on xfs
//     with pquota). A read-only rootfs with tmpfs mounts would bound it but
//     needs the helper to receive its files on stdin (docker cp cannot write
//     into a tmpfs): left for later.
//
// # Kill, cleanup, errors
//
// Create and start run on contexts the job's cancellation does not cut
// short (a create cut mid-request may still make a container), and the
// cancellation is checked after each step: a job cancelled while its
// container is being created is removed and never started. Once it runs,
// the cancellation sends SIGKILL, and Run returns an error wrapping
// context.Cause. Whatever happens, the container is removed (force,
// volumes) at the end on a fresh context; what a failed removal leaves,
// Cleanup removes: it lists the containers labelled io.ingo.agent=<this
// agent's id> and removes those whose attempt keep rejects, never touching
// other containers. (An agent whose id changes at each start, the default
// without agent.id, cannot recognise the containers of its previous
// process: set agent.id for crash recovery across restarts.)
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
