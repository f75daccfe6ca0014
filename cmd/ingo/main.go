package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/ingo-grader/ingo/internal/gcfloor"
	"github.com/ingo-grader/ingo/internal/termsafe"
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
	processFloor = startGCFloor(os.Args[1:])
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if processFloor != nil {
		processFloor.Stop()
	}
	stopProfile()
	writeHeapProfile(os.Getenv("INGO_HEAPPROFILE"), os.Stderr)
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

// writeHeapProfile writes a heap profile to path, when set. Written as
// the process ends without a collection first, it shows what the last
// collection of the run found live: what the garbage collector had to
// mark (tests/bench sets it with INGO_BENCH_PROFILE).
func writeHeapProfile(path string, stderr io.Writer) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.WriteHeapProfile(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "ingo: INGO_HEAPPROFILE: %v\n", err)
	}
}

// The least the heap may grow between collections (internal/gcfloor):
// what a small live heap allocating fast at a deadline would otherwise
// spend on collecting, for at most this much memory. The backend's is
// larger: its live heap grows with the jobs it remembers, and 256 MiB took
// it from 66-68 to 60-62 µs per job (TestProcessReport). With a million
// queued jobs its live heap (~500 MiB) is larger than either, and GOGC's
// doubling took the process past 1 GiB as the queue filled (1,029-1,105
// MiB): once the backend serves, its heap grows past the floor by at most
// gcLargeBackend percent of what is live. Not during its replay, whose
// collections would make a restart slower.
const (
	gcHeadroom        = 64 << 20
	gcHeadroomBackend = 256 << 20
	gcLargeBackend    = 70
)

// processFloor is the floor main started; nil when a test calls run.
var processFloor *gcfloor.Floor

// capGCGrowth caps the heap's growth past the floor for a backend that
// serves (gcLargeBackend).
func capGCGrowth() {
	if processFloor != nil {
		processFloor.CapGrowth(gcLargeBackend)
	}
}

// startGCFloor keeps a floor under the collector for the command args
// run, unless the operator set GOGC: theirs is the setting then.
func startGCFloor(args []string) *gcfloor.Floor {
	if os.Getenv("GOGC") != "" {
		return nil
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
	fmt.Fprintf(stderr, "ingo: %s\n", termsafe.Block(err.Error()))
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
