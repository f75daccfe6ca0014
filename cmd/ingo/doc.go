// Command ingo is the single binary of ingo: the backend, an agent, and the
// client commands that submit jobs and look at the queue.
//
//	ingo backend [--embedded-nats] [--data-dir DIR]
//	ingo agent [--runtime noop|docker] [--environments docker/default,...] [--concurrency N]
//	ingo submit TASKDIR [-i PID=VALUE]... [-f PID=FILE]... [--env ENV] [--env-type TYPE]
//	            [--priority N] [--ssh] [--debug] [--wait] [--json]
//	ingo result JOBID [--wait] [--json]
//	ingo jobs [--course C] [--status S] [--since D] [--limit N] [--json]
//	ingo kill JOBID
//	ingo queue [--json] [--watch] [--all]
//	ingo task check TASKDIR [--json]
//	ingo task test TASKDIR [--run REGEXP] [--json]
//	ingo envs [--json]
//	ingo agents [--json]
//	ingo version
//
// Every command reads its settings (settings.go: the components' own
// configurations, gathered) through internal/config (flags, INGO_*
// variables, --config FILE, defaults) and logs to stderr; stdout carries
// only what the command is asked for, so that --json output can be piped.
//
// One file per subcommand; main.go owns the process (signals, exit codes)
// and app.go what the subcommands share (settings, logger, connections).
package main
