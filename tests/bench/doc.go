// Package bench measures ingo against references run in the same process.
//
// Run the full report with
//
//	INGO_BENCH=1 go test -run TestPipelineReport -v -timeout 10m ./tests/bench
//
// Without INGO_BENCH the same code runs on a small load, so CI keeps it
// working; it checks results (each job exactly one success), never times.
package bench
