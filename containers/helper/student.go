package helper

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ingo-grader/ingo/containers/channel"
)

func init() {
	register(&command{
		name: "student", usage: "[SPEC]",
		desc:     "run a student command, or serve SSH (the entrypoint of student containers)",
		internal: true, raw: true,
		run: studentMain,
	})
}

// exitNotFound is a shell's status for a command that does not exist.
const exitNotFound = 127

// studentMain is PID 1 of a student container: it runs the command of
// spec with the container's stdin, stdout and stderr (which the agent
// relays to the run_student caller), passes on the signals the agent sends
// to the container, and exits with the command's status. With spec.SSH it
// serves SSH over the channel instead (ssh_student).
func studentMain(e *cmdEnv, a *parsed) error {
	// The spec comes from StudentSpecEnv (the runtime's way: the command
	// line is readable by the student, the environment of a process that
	// is not dumpable is not), else as the one argument (tests, and the
	// runtime's copy for helpers older than StudentSpecEnv).
	var raw string
	switch {
	case e.getenv(StudentSpecEnv) != "" && len(a.rest) <= 1:
		raw = e.getenv(StudentSpecEnv)
	case len(a.rest) == 1:
		raw = a.rest[0]
	default:
		return usagef("the student spec as JSON expected: one argument, or %s", StudentSpecEnv)
	}
	var spec channel.StudentSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return exitWith(channel.CodeLaunch, fmt.Errorf("bad spec: %w", err))
	}
	if spec.Common {
		// Read block by block, never past the tar's end: what follows on
		// stdin is the student's (the command inherits the descriptor).
		if e.stdin == nil {
			return exitWith(channel.CodeLaunch, errors.New("the course's common files: no stdin"))
		}
		if err := extractCommonStudent(e.paths, tar.NewReader(e.stdin)); err != nil {
			return exitWith(channel.CodeLaunch, fmt.Errorf("the course's common files: %w", err))
		}
	}
	// The student's code runs as our uid: without this it could open our
	// stdout through /proc/1/fd/1, which is the channel to the agent when
	// we serve SSH, and open streams there of its own (a relay on an SSH
	// port each, until the agent's range is taken).
	keepOwnOOMScore(e.paths.Root)
	if err := notDumpable(); err != nil {
		e.warnf("student", "cannot protect the channel: %v", err)
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, forwarded...)
	defer signal.Stop(signals)
	absorbSignals()
	reserveThreads(e.paths.Root)
	oom := openOOMCounter(e.paths.Root)
	env := runEnv(e, DefaultOutputLimit)
	dir := spec.WorkDir
	if st, err := os.Stat(e.paths.Root + dir); dir == "" || err != nil || !st.IsDir() {
		dir = StudentDir
	}
	dir = e.paths.Root + dir
	if spec.SSH != nil {
		return studentSSH(e, &spec, env, dir, signals)
	}
	code := runStudentCommand(e, spec.Argv, env, dir, signals)
	// Killed (or a shell saying its child was: 128+9) while the
	// container's memory ran out.
	if (code == killedBy(syscall.SIGKILL) || code == 128+int(syscall.SIGKILL)) && oom.kills() > 0 {
		code = channel.CodeOverflow
	}
	if code != 0 {
		return exitWith(code, errQuiet)
	}
	return nil
}

// killedBy is run_student's return code for a command killed by sig:
// 256-N for signal N, as INGInious' student container exits with the
// command's Python returncode, -N (courses test 256-11 for a
// segmentation fault).
func killedBy(sig syscall.Signal) int { return 256 - int(sig) }

// runStudentCommand runs argv with the helper's own stdio and returns its
// exit status, or killedBy its signal.
func runStudentCommand(e *cmdEnv, argv []string, env []string, dir string, signals <-chan os.Signal) int {
	if len(argv) == 0 {
		fmt.Fprintln(e.stderr, "run_student: no command")
		return channel.CodeLaunch
	}
	prog := argv[0]
	if !strings.Contains(prog, "/") {
		p, err := lookPath(prog, env)
		if err != nil {
			fmt.Fprintf(e.stderr, "run_student: %s: command not found\n", prog)
			return exitNotFound
		}
		prog = p
	} else if !filepath.IsAbs(prog) {
		prog = filepath.Join(dir, prog)
	}
	attr := &syscall.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	g := &grader{}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case sig := <-signals:
				g.forward(sig)
			case <-done:
				return
			}
		}
	}()
	g.mu.Lock()
	var pid int
	err := startAsOOMVictim(func() (err error) {
		pid, err = syscall.ForkExec(prog, argv, attr)
		return err
	})
	g.pid = pid
	g.mu.Unlock()
	if err != nil {
		fmt.Fprintf(e.stderr, "run_student: %s: %v\n", argv[0], err)
		if errors.Is(err, syscall.ENOENT) {
			return exitNotFound
		}
		return 126 // a shell's "cannot execute"
	}
	ws, ok := waitStatus(pid)
	g.mu.Lock()
	g.exited = true
	g.mu.Unlock()
	killLeftovers(pid)
	reapAll()
	return exitCode(ws, ok, killedBy)
}

// lookPath finds prog in the PATH of env.
func lookPath(prog string, env []string) (string, error) {
	path := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, d := range filepath.SplitList(path) {
		f := filepath.Join(d, prog)
		if st, err := os.Stat(f); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return f, nil
		}
	}
	return "", exec.ErrNotFound
}

// studentSSH is ssh_student's container: setup script, SSH server over the
// channel, teardown script. Scripts' output goes to stderr, which the agent
// relays to the caller's stderr.
func studentSSH(e *cmdEnv, spec *channel.StudentSpec, env []string, dir string, signals <-chan os.Signal) error {
	script := func(s string) {
		if strings.TrimSpace(s) == "" {
			return
		}
		shell := "/bin/sh"
		if _, err := os.Stat("/bin/bash"); err == nil {
			shell = "/bin/bash"
		}
		cmd := exec.Command(shell, "-c", s)
		cmd.Dir, cmd.Env = dir, env
		cmd.Stdout, cmd.Stderr = e.stderr, e.stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		err := startAsOOMVictim(cmd.Start)
		if err == nil {
			err = cmd.Wait()
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "ssh_student: script %q: %v\n", s, err)
		}
	}
	script(spec.SetupScript)
	hidden, err := hideScripts(e.paths.Student)
	if err != nil {
		fmt.Fprintf(e.stderr, "ssh_student: %s/%s stays visible to the student: %v\n", e.paths.Student, scriptsDir, err)
	}
	m, err := startMux(e, "")
	if err != nil {
		_ = hidden.restore()
		return exitWith(channel.CodeLaunch, err)
	}
	defer m.close()
	// One file, /task/student/.ssh_logs, as INGInious' ssh_student leaves
	// it: run files grep it for what the student typed.
	s := &sshServe{lim: spec.SSH, env: env, dir: dir, recordFile: e.paths.Student + "/.ssh_logs", limit: DefaultOutputLimit, quiet: true}
	end, reason := s.run(e, m, signals)
	// What the student's processes still running do to the folder from
	// now on is theirs to do: the teardown script may want them alive.
	if err := hidden.restore(); err != nil {
		// The teardown script would run what the student left there.
		return exitWith(channel.CodeLaunch, fmt.Errorf("%s/%s could not be written back, so the teardown script was not run: %w", e.paths.Student, scriptsDir, err))
	}
	script(spec.TeardownScript)
	switch end {
	case sshNobody, sshMax:
		return exitWith(channel.CodeTimeout, errQuiet)
	case sshFailed:
		return exitWith(channel.CodeLaunch, errors.New(reason))
	case sshStopped:
		return exitWith(128+int(syscall.SIGTERM), errQuiet)
	}
	return nil
}
