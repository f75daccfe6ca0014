package helper

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// runCommand is how to start the grader: argv, and fallback when argv[0]
// turns out not to be executable by the kernel (ENOEXEC: a script without
// "#!"), as a shell would do. fallback is looked up only then: finding the
// default interpreter searches PATH, and each miss on an image's rootfs
// (fuse-overlayfs) costs milliseconds that every job would pay for the
// rare script without "#!".
type runCommand struct {
	argv     []string
	fallback func() ([]string, error) // nil: none
}

// pathLookup is exec.LookPath; tests count its calls.
var pathLookup = exec.LookPath

// errNoRunFile is returned when the task folder has no run file.
var errNoRunFile = errors.New("no run file")

// runFileNames are looked for in /task in this order.
var runFileNames = []string{"run", "run.sh", "run.py", "run.py3"}

// findRunCommand finds the grader as INGInious does: run_cmd when given
// (split on spaces, as INGInious), else the first of /task/run, run.sh,
// run.py, run.py3 that exists, else the same in /course/common.
func findRunCommand(p Paths, runCmd string) (*runCommand, error) {
	if runCmd != "" {
		argv := strings.Fields(runCmd)
		if len(argv) == 0 {
			return nil, fmt.Errorf("run_cmd %q is empty", runCmd)
		}
		path, err := resolveProgram(p, argv[0])
		if err != nil {
			return nil, fmt.Errorf("run_cmd %q: %w", runCmd, err)
		}
		argv[0] = path
		return &runCommand{argv: argv}, nil
	}
	// Then, as INGInious, the course's common run file serves the tasks
	// that have none.
	for _, dir := range []string{p.Task, p.Root + CommonDir} {
		for _, name := range runFileNames {
			path := filepath.Join(dir, name)
			info, err := os.Stat(path)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("looking for the run file: %w", err)
			}
			if info.IsDir() {
				continue
			}
			return commandFor(path, name)
		}
	}
	return nil, errNoRunFile
}

// resolveProgram finds argv[0] of run_cmd: a path (relative to /task) or a
// name looked up in PATH.
func resolveProgram(p Paths, name string) (string, error) {
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(p.Task, name)
		}
		return name, nil
	}
	return pathLookup(name)
}

// commandFor decides how to start one run file:
//   - run.py and run.py3: python3 with pyRunner, whatever their mode or
//     first line, as INGInious runs them through its inginious-ipython;
//   - executable (for the helper's user): itself, falling back to its
//     default interpreter on ENOEXEC;
//   - not executable, starting with "#!": through that interpreter (and its
//     one optional argument), as the kernel would;
//   - not executable, an ELF binary: made executable, then itself;
//   - otherwise: through bash (or /bin/sh without bash), INGInious' for
//     run.sh.
func commandFor(path, name string) (*runCommand, error) {
	withDefault := func() ([]string, error) {
		def, err := defaultInterpreter(name)
		if err != nil {
			return nil, err
		}
		return append(def, path), nil
	}
	if name == "run.py" || name == "run.py3" {
		argv, err := withDefault()
		if err != nil {
			return nil, err
		}
		return &runCommand{argv: argv}, nil
	}
	if syscall.Access(path, 1 /* X_OK */) == nil {
		// Without a default interpreter, ENOEXEC is the error.
		return &runCommand{argv: []string{path}, fallback: withDefault}, nil
	}
	head, err := readHead(path, 256)
	if err != nil {
		return nil, fmt.Errorf("reading the run file: %w", err)
	}
	if interp := shebang(head); interp != nil {
		return &runCommand{argv: append(interp, path)}, nil
	}
	if bytes.HasPrefix(head, []byte("\x7fELF")) {
		info, err := os.Stat(path)
		if err == nil {
			err = os.Chmod(path, info.Mode()|0o111)
		}
		if err != nil {
			return nil, fmt.Errorf("making the run file executable: %w", err)
		}
		return &runCommand{argv: []string{path}}, nil
	}
	argv, err := withDefault()
	if err != nil {
		return nil, err
	}
	return &runCommand{argv: argv}, nil
}

// pyRunner runs the run.py its argument names with INGInious' API names
// in its globals, and IPython's syntax when it is no Python
// (inginious/_run.py of the images' Python package); in an image without
// ingo's package, as plain Python.
const pyRunner = `import sys
try:
    from inginious._run import main
except ImportError:
    import os, runpy
    def main(path):
        sys.argv = [path]
        sys.path[0] = os.path.dirname(os.path.abspath(path))
        runpy.run_path(path, run_name="__main__")
main(sys.argv[1])
`

// defaultInterpreter is the interpreter of run.py and run.py3 (always,
// pyRunner), and of another run file that does not say its own: bash, as
// INGInious runs run.sh, so bash-only run files keep working.
func defaultInterpreter(name string) ([]string, error) {
	switch name {
	case "run.py", "run.py3":
		py, err := pathLookup("python3")
		if err != nil {
			return nil, fmt.Errorf("%s needs python3, which this environment lacks: %w", name, err)
		}
		return []string{py, "-c", pyRunner}, nil
	default:
		if bash, err := pathLookup("bash"); err == nil {
			return []string{bash}, nil
		}
		return []string{"/bin/sh"}, nil
	}
}

// startError says why program could not be started (err, from the exec).
// The kernel's ENOENT for a program that exists means its interpreter
// ("#!" line) does not: a run file of an environment other than this one
// (Python 2's /usr/bin/python2, say), which "no such file" alone hides.
func startError(program string, err error) string {
	if errors.Is(err, syscall.ENOENT) {
		if head, rerr := readHead(program, 256); rerr == nil {
			if interp := shebang(head); interp != nil {
				return fmt.Sprintf("its interpreter %s (its first line) is not in this environment", strconv.Quote(interp[0]))
			}
		}
	}
	return fmt.Sprintf("%s: %v", program, err)
}

// shebang parses a "#!" line as Linux does: the interpreter, then the rest
// of the line as one argument if any. Nil when there is none.
func shebang(head []byte) []string {
	if !bytes.HasPrefix(head, []byte("#!")) {
		return nil
	}
	line, _, _ := bytes.Cut(head[2:], []byte("\n"))
	line = bytes.TrimSpace(line)
	interp, arg := line, []byte(nil)
	if i := bytes.IndexAny(line, " \t"); i >= 0 {
		interp, arg = line[:i], line[i+1:]
	}
	if len(interp) == 0 {
		return nil
	}
	out := []string{string(interp)}
	if a := bytes.TrimSpace(arg); len(a) > 0 {
		out = append(out, string(a))
	}
	return out
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	m, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:m], nil
}
