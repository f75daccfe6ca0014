// Package fake is an in-memory containers.Runtime for scheduler and
// protocol tests. It is a real implementation of the contract (limits,
// cancellation, cleanup, environments that change), whose jobs do what
// their input data says instead of running a grader.
//
// # Behaviour
//
// Job.Desc.InputData["@fake"] is a map; every key is optional:
//
//	"result"      status string (default "success")
//	"grade"       number (default 100 for success, 0 otherwise)
//	"text"        feedback text (default "fake: <status>")
//	"problems"    map pid -> {"status": string, "text": string}
//	"state"       new state string
//	"custom"      map copied into the result's custom values
//	"sleep"       duration string ("200ms"): wait that long, honouring ctx;
//	              a sleep longer than Limits.HardTime ends in timeout
//	"hang"        true: block until ctx is cancelled
//	"block_start" true: block "while the container is created", until the
//	              test calls Release(jobID) or ctx is cancelled; a job
//	              cancelled there never starts (Stats.Started stays put)
//	"crash"       string: Run returns a plain error with that text
//	"failure"     string: Run returns *containers.Failure with that Public text
//	"oom"         true: the result is overflow
//	"timeout"     true: the result is timeout
//	"ssh"         true: report SSH credentials through Events first
//	"stdout"      string: the grader's stdout, in the result when the job
//	              asks for debug (Desc.Debug not DebugOff), as with Docker
//	"stderr"      string: the same for stderr
//
// A malformed "@fake" value makes Run return a *containers.Failure that says
// which key is wrong.
//
// # Echo
//
// Every result carries Custom["echo"], what the runtime received, so that
// tests can check that data travelled: "agent_id", "job_id", "attempt",
// "environment" ("type/name"), "limits" (map with the Limits' CBOR names),
// "task_bundle" (digest or ""), "task_bundle_bytes" (archive size, -1 if
// none) and "input" (InputData without "@fake").
//
// # Cancellation
//
// When ctx is cancelled Run returns at once an error that wraps
// context.Cause(ctx), as the contract asks.
//
// # Run log
//
// With Options.RunLog set, the runtime appends one line per attempt event,
// each written with a single Write call:
//
//	start <unix-nanos> <agent-id> <job-id> <attempt>
//	end <unix-nanos> <agent-id> <job-id> <attempt> <status>
//
// "start" is written when the attempt starts running (when Stats.Started
// counts it: not for a malformed "@fake", "crash", "failure", or a job
// cancelled at block_start), "end" when that attempt stops, whatever the
// reason. The status is the result's, or the one the agent reports for a
// cancellation: "killed" for containers.ErrKilled, "crash" for anything
// else (containers.ErrShutdown, whose attempt the agent hands back rather
// than report, removal by Cleanup). A "start" without its
// "end" means the process died while the job ran.
//
// `ingo agent --runtime fake` (agent.fake-run-log) opens the file with
// OpenRunLog, in append mode, so that the agents of a multi-process test
// can share one file: appends of one line each never interleave.
package fake
