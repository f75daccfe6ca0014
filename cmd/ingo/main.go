package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/ingo-grader/ingo/internal/gcfloor"
)

// Exit codes. Scripts tell a usage mistake from a failure to get a result.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	// exitInterrupted follows the shell's 128+SIGINT convention.
	exitInterrupted = 130
)

func main() {
	ctx, stop := signalContext(context.Background(), os.Stderr, func() { os.Exit(exitInterrupted) })
	stopProfile := startCPUProfile(os.Getenv("INGO_CPUPROFILE"), os.Stderr)
	stopFloor := startGCFloor(os.Args[1:])
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopFloor()
	stopProfile()
	stop()
	os.Exit(code)
}

// startCPUProfile writes a CPU profile of the whole run to path, when
// set: how the benchmarks of separate processes (tests/bench) see where
// each process spends its time. It returns what stops and writes it.
func startCPUProfile(path string, stderr io.Writer) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(stderr, "ingo: INGO_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(stderr, "ingo: INGO_CPUPROFILE: %v\n", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// The least the heap may grow between collections (internal/gcfloor):
// what a small live heap allocating fast at a deadline would otherwise
// spend on collecting, for at most this much memory. The backend's is
// larger: its live heap grows with the jobs it remembers, and 256 MiB took
// it from 66-68 to 60-62 µs per job (TestProcessReport); with a million
// queued jobs its live heap is larger than either, and the floor is off.
const (
	gcHeadroom        = 64 << 20
	gcHeadroomBackend = 256 << 20
)

// startGCFloor keeps a floor under the collector for the command args
// run, unless the operator set GOGC: theirs is the setting then.
func startGCFloor(args []string) func() {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	return gcfloor.Start(gcHeadroomFor(args))
}

// gcHeadroomFor is the floor for the command args run: the backend's for
// the commands that run one.
func gcHeadroomFor(args []string) uint64 {
	if cmd, _, err := newRootCmd(&app{stdout: io.Discard, stderr: io.Discard}).Find(args); err == nil {
		switch cmd.Name() {
		case "backend", "up":
			return gcHeadroomBackend
		}
	}
	return gcHeadroom
}

// run executes one command line and returns the exit code; tests call it
// in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "ingo: %v\n", err)
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	if ctx.Err() != nil {
		return exitInterrupted
	}
	return exitFailure
}

// usageError is a mistake on the command line; it carries the hint to
// look at the command's help.
type usageError struct {
	err     error
	command string
}

func (e *usageError) Error() string {
	return fmt.Sprintf("%v\nrun '%s --help' for usage", e.err, e.command)
}

func (e *usageError) Unwrap() error { return e.err }
