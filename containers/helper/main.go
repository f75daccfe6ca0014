package helper

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Name is the helper's own name, as installed in images.
const Name = "ingo-helper"

// OutputLimitEnv is set by `run` for the run file: limits.output, so that
// the commands can cap texts without reading input.json each time.
const OutputLimitEnv = "INGO_OUTPUT_LIMIT"

// Exit statuses of the commands.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2 // argparse's status for a bad command line
)

// cmdEnv is what a command may touch; tests give their own.
type cmdEnv struct {
	paths  Paths
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

func (e *cmdEnv) warnf(cmd, format string, a ...any) {
	fmt.Fprintf(e.stderr, "%s: %s\n", cmd, fmt.Sprintf(format, a...))
}

// outputLimit is the cap for texts at write time: the run's limit, else
// input.json's, else none (the final cut happens in `run` anyway).
func (e *cmdEnv) outputLimit() int64 {
	if v, err := strconv.ParseInt(e.getenv(OutputLimitEnv), 10, 64); err == nil && v > 0 {
		return v
	}
	if in, err := loadInput(e.paths.Input); err == nil {
		return in.Limits.OutputLimit()
	}
	return 0
}

func (e *cmdEnv) store() *feedbackStore { return newFeedbackStore(e.paths, e.outputLimit()) }

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitWith(code int, err error) error { return &exitError{code: code, err: err} }

// commands is the multi-call table, filled in init by the files that
// define them, keyed by the name INGInious gives each command.
var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// CommandNames lists the names install-links creates, sorted.
func CommandNames() []string {
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.internal {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Main runs the helper with os.Args-style args and returns the exit status.
// It is a command when called by that name (a link made by install-links)
// or as `ingo-helper COMMAND ARGS...`.
func Main(args []string) int {
	env := &cmdEnv{paths: PathsFromEnv(), stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	return dispatch(env, args)
}

func dispatch(env *cmdEnv, args []string) int {
	if len(args) == 0 {
		return usageMain(env)
	}
	name, rest := filepath.Base(args[0]), args[1:]
	if _, ok := commands[name]; !ok || name == Name {
		if len(rest) == 0 {
			return usageMain(env)
		}
		name, rest = rest[0], rest[1:]
	}
	switch name {
	case "-h", "--help", "help":
		fmt.Fprint(env.stdout, mainHelp())
		return exitOK
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(env.stderr, "%s: unknown command %q\n\n%s", Name, name, mainHelp())
		return exitUsage
	}
	return execCommand(env, c, rest)
}

func execCommand(env *cmdEnv, c *command, argv []string) int {
	a, err := c.parse(argv)
	if err == nil {
		err = c.run(env, a)
	}
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		fmt.Fprint(env.stdout, c.helpText())
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(env.stderr, "usage: %s %s\n%s: error: %s\n", c.name, c.usage, c.name, ue.msg)
		return exitUsage
	case errors.As(err, &ee):
		if !errors.Is(err, errQuiet) {
			fmt.Fprintf(env.stderr, "%s: %v\n", c.name, err)
		}
		return ee.code
	default:
		fmt.Fprintf(env.stderr, "%s: %v\n", c.name, err)
		return exitFailure
	}
}

func usageMain(env *cmdEnv) int {
	fmt.Fprint(env.stderr, mainHelp())
	return exitUsage
}

func mainHelp() string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s COMMAND [ARGS...]   (or call a command by its name)\n\ncommands:\n", Name)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-18s %s\n", n, commands[n].desc)
	}
	b.WriteString("\nEvery command takes -h for its own help.\n")
	return b.String()
}
