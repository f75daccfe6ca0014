package helper

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// drainGrace is how long, once the run file exited and its leftovers were
// killed, the helper waits for the end of its output: a process that left
// the run file's process group (setsid) may still hold the pipes, and the
// helper must not wait for it. As PID 1 every process is killed, so the
// pipes close at once and this never runs out.
var drainGrace = 2 * time.Second

// grader is the run file's process as signals see it.
type grader struct {
	mu     sync.Mutex
	pid    int // also its process group; 0 before the start
	exited bool
	// early is a stop signal that came before the start.
	early os.Signal
}

// forward passes a stop signal to the run file's whole process group, so
// that the command it is waiting on stops too.
func (g *grader) forward(sig os.Signal) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.pid == 0:
		g.early = sig
	case !g.exited:
		_ = syscall.Kill(-g.pid, sig.(syscall.Signal))
	}
}

// runGrader starts the run file in /task with env, its stdout and stderr
// kept up to limit bytes each, forwards stop signals to it, waits for it,
// then kills what it left running.
func runGrader(e *cmdEnv, cmd *runCommand, env []string, limit int64, signals <-chan os.Signal) *outcome {
	g := &grader{}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case sig := <-signals:
				g.forward(sig)
			case <-stop:
				return
			}
		}
	}()

	outR, outW, err := os.Pipe()
	if err != nil {
		return crashed("creating a pipe: %v", err)
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return crashed("creating a pipe: %v", err)
	}
	defer errR.Close()
	// stdin is an empty pipe, as INGInious gives an empty file.
	inR, inW, err := os.Pipe()
	if err != nil {
		outW.Close()
		errW.Close()
		return crashed("creating a pipe: %v", err)
	}
	inW.Close()
	attr := &syscall.ProcAttr{
		Dir:   e.paths.Task,
		Env:   env,
		Files: []uintptr{inR.Fd(), outW.Fd(), errW.Fd()},
		// Its own process group: signals reach the commands it runs, and
		// its leftovers can be killed together.
		Sys: &syscall.SysProcAttr{Setpgid: true},
	}

	g.mu.Lock()
	if g.early != nil {
		g.mu.Unlock()
		inR.Close()
		outW.Close()
		errW.Close()
		return &outcome{exitCode: -1, failure: &verdict{StatusKilled, "The grading was stopped before the run file started."}}
	}
	var pid int
	err = startAsOOMVictim(func() (err error) {
		pid, err = syscall.ForkExec(cmd.argv[0], cmd.argv, attr)
		if errors.Is(err, syscall.ENOEXEC) && cmd.fallback != nil {
			if argv, ferr := cmd.fallback(); ferr == nil {
				pid, err = syscall.ForkExec(argv[0], argv, attr)
			}
		}
		return err
	})
	g.pid = pid
	g.mu.Unlock()
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		return &outcome{exitCode: -1, failure: &verdict{StatusCrash, "The run file cannot be started: " + startError(cmd.argv[0], err)}}
	}
	stdout, stderr := &headBuffer{max: limit}, &headBuffer{max: limit}
	var readers sync.WaitGroup
	for _, c := range []struct {
		dst *headBuffer
		src *os.File
	}{{stdout, outR}, {stderr, errR}} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			_, _ = io.Copy(c.dst, c.src) // ends at EOF, or when closed below
		}()
	}

	code := waitFor(pid)
	g.mu.Lock()
	g.exited = true
	g.mu.Unlock()
	killLeftovers(pid)

	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainGrace):
		e.warnf(Name+" run", "processes that left the run file's group still hold its output; not waiting for them")
		outR.Close()
		errR.Close()
		<-drained
	}
	reapAll()
	return &outcome{
		exitCode: code,
		stdout:   stdout.buf.String(), stdoutCut: stdout.cut(),
		stderr: stderr.buf.String(), stderrCut: stderr.cut(),
	}
}

func crashed(format string, a ...any) *outcome {
	return &outcome{exitCode: -1, failure: &verdict{StatusCrash, "The grading container failed: " + fmt.Sprintf(format, a...)}}
}

// waitFor reaps children until pid exits and returns its exit status
// (128+N when killed by signal N, as a shell says).
func waitFor(pid int) int {
	ws, ok := waitStatus(pid)
	return exitCode(ws, ok, func(sig syscall.Signal) int { return 128 + int(sig) })
}

// exitCode is the status of a process that ended as ws (-1 when there was
// none to wait for), onSignal's code when a signal killed it.
func exitCode(ws syscall.WaitStatus, ok bool, onSignal func(syscall.Signal) int) int {
	switch {
	case !ok:
		return -1
	case ws.Signaled():
		return onSignal(ws.Signal())
	}
	return ws.ExitStatus()
}

// waitStatus reaps children until pid exits and returns how it ended; ok
// is false when there is no child to wait for (cannot happen while pid is
// ours). It reaps any child, not only pid: as PID 1 the helper inherits
// every orphan and must not let zombies pile up.
func waitStatus(pid int) (ws syscall.WaitStatus, ok bool) {
	for {
		got, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return ws, false
		}
		if got == pid && (ws.Exited() || ws.Signaled()) {
			return ws, true
		}
	}
}

// killLeftovers kills what the run file left running, as INGInious'
// container would by ending: every other process of the container when the
// helper is PID 1, else (tests, a runtime using --init) the run file's
// process group.
func killLeftovers(pgid int) {
	if os.Getpid() == 1 {
		_ = syscall.Kill(-1, syscall.SIGKILL) // all but PID 1 itself
		return
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// reapAll collects the zombies already there, without waiting.
func reapAll() {
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || got <= 0 {
			return
		}
	}
}
