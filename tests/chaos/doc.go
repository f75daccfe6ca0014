// Package chaos kills real ingo processes under load and counts what
// survived (issue 4): the built `ingo` binary as backends and agents (with
// the fake runtime, whose run log records every attempt), a real
// nats-server process, and chaosclient processes as frontends that store
// their results in files.
//
// TestChaos SIGKILLs in turn the active backend, an agent, the NATS server
// and a client, restarting each; TestFailover kills the active backend and
// times the standby's takeover. Both then check, per job id, exactly one
// stored result, none lost, and no overlapping attempts, and print the
// counts (also appended to $INGO_CHAOS_REPORT when set; .ci/run shows it).
//
// Run them alone with
//
//	go test -race -v -run 'TestChaos|TestFailover' ./tests/chaos
package chaos
