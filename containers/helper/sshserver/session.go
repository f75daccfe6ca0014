package sshserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// drainWait is how long output is still awaited once the process has
// exited: a background process may keep the terminal or pipes open forever.
const drainWait = time.Second

// session is one "session" channel: at most one process, optionally on a
// terminal.
type session struct {
	srv *Server
	ctx context.Context
	n   int64
	ch  ssh.Channel
	log *slog.Logger

	master, tty *os.File // the terminal, nil unless pty-req
	term        string

	done  bool // a shell or exec was asked for: no second one
	cmd   *exec.Cmd
	outs  []*os.File  // what the process prints: master, or stdout and stderr
	stdin *os.File    // write end of its stdin pipe, nil with a terminal
	rec   *transcript // nil when not recording
	wg    sync.WaitGroup

	mu  sync.Mutex
	pid int // its process group; 0 before start and once it is over
}

func (s *Server) session(ctx context.Context, n int64, ch ssh.Channel, reqs <-chan *ssh.Request) {
	ss := &session{srv: s, ctx: ctx, n: n, ch: ch, log: s.log.With("session", n)}
	for req := range reqs {
		ok, started := ss.safeHandle(req)
		if req.WantReply {
			req.Reply(ok, nil)
		}
		if started {
			ss.wg.Go(ss.run)
		}
	}
	// The channel is closed, by the client or with the connection: nobody
	// is left to read what the process would print.
	ss.kill(syscall.SIGKILL)
	ss.wg.Wait()
	ch.Close()
	if ss.cmd == nil && ss.master != nil {
		ss.master.Close()
		ss.tty.Close()
	}
}

// safeHandle keeps a client's odd request from taking the helper down.
func (ss *session) safeHandle(req *ssh.Request) (ok, started bool) {
	defer func() {
		if r := recover(); r != nil {
			ss.log.Debug("ssh request panicked", "type", req.Type, "panic", r)
			ok, started = false, false
		}
	}()
	return ss.handle(req)
}

func (ss *session) handle(req *ssh.Request) (ok, started bool) {
	switch req.Type {
	case "pty-req":
		var p struct {
			Term             string
			Cols, Rows, W, H uint32
			Modes            string
		}
		if err := ssh.Unmarshal(req.Payload, &p); err != nil || ss.master != nil || ss.done {
			return false, false
		}
		master, tty, err := openPTY()
		if err != nil {
			ss.log.Debug("ssh pty", "err", err)
			return false, false
		}
		ss.master, ss.tty, ss.term = master, tty, p.Term
		if err := setSize(master, p.Cols, p.Rows); err != nil {
			ss.log.Debug("ssh pty size", "err", err)
		}
		return true, false
	case "window-change":
		var p struct{ Cols, Rows, W, H uint32 }
		if err := ssh.Unmarshal(req.Payload, &p); err != nil || ss.master == nil {
			return false, false
		}
		return setSize(ss.master, p.Cols, p.Rows) == nil, false
	case "shell":
		return ss.startReply(nil, "shell")
	case "exec":
		var p struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &p); err != nil {
			return false, false
		}
		return ss.startReply([]string{"-c", p.Command}, p.Command)
	case "signal":
		var p struct{ Signal string }
		if err := ssh.Unmarshal(req.Payload, &p); err != nil {
			return false, false
		}
		sig, ok := signals[p.Signal]
		if !ok {
			return false, false
		}
		ss.kill(sig)
		return true, false
	default: // env, subsystem, x11-req, auth-agent-req...
		return false, false
	}
}

func (ss *session) startReply(args []string, command string) (ok, started bool) {
	if ss.done {
		return false, false
	}
	ss.done = true
	if err := ss.start(args, command); err != nil {
		ss.log.Debug("ssh start", "command", command, "err", err)
		if ss.master != nil {
			ss.master.Close()
			ss.tty.Close()
			ss.master = nil
		}
		return false, false
	}
	return true, true
}

func (ss *session) start(args []string, command string) error {
	opts := &ss.srv.opts
	cmd := exec.Command(opts.Shell, args...)
	cmd.Dir = opts.Dir
	// Never nil: that would hand over the helper's own environment.
	cmd.Env = append([]string{}, opts.Env...)
	var childEnds []*os.File
	if ss.master != nil {
		if ss.term != "" {
			cmd.Env = append(cmd.Env, "TERM="+ss.term)
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = ss.tty, ss.tty, ss.tty
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		childEnds = []*os.File{ss.tty}
		ss.outs = []*os.File{ss.master}
	} else {
		inR, inW, err := os.Pipe()
		if err != nil {
			return err
		}
		outR, outW, err := os.Pipe()
		if err != nil {
			closeAll(inR, inW)
			return err
		}
		errR, errW, err := os.Pipe()
		if err != nil {
			closeAll(inR, inW, outR, outW)
			return err
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		childEnds = []*os.File{inR, outW, errW}
		ss.outs = []*os.File{outR, errR}
		ss.stdin = inW
	}
	start := cmd.Start
	if f := ss.srv.opts.Start; f != nil {
		start = func() error { return f(cmd.Start) }
	}
	err := start()
	closeAll(childEnds...) // else the end of the output never comes
	if err != nil {
		if ss.master == nil {
			closeAll(ss.outs...)
			ss.stdin.Close()
		}
		return err
	}
	ss.cmd = cmd
	ss.mu.Lock()
	ss.pid = cmd.Process.Pid
	ss.mu.Unlock()
	if r := ss.srv.rec; r != nil {
		t, err := r.open(ss.n, command)
		if err != nil {
			ss.log.Debug("ssh recording", "err", err)
		} else {
			ss.rec = t
		}
	}
	ss.log.Debug("ssh process started", "pid", cmd.Process.Pid, "command", command, "pty", ss.master != nil)
	return nil
}

// run copies the process' input and output, waits for it and reports its
// end to the client.
func (ss *session) run() {
	var outs sync.WaitGroup
	dests := []io.Writer{ss.ch, ss.ch.Stderr()}
	for i, r := range ss.outs {
		outs.Go(func() { ss.copyOut(r, dests[i]) })
	}
	if ss.master != nil {
		ss.wg.Go(func() { io.Copy(ss.master, ss.ch) })
	} else {
		ss.wg.Go(func() {
			io.Copy(ss.stdin, ss.ch)
			ss.stdin.Close() // the client's EOF
		})
	}

	exited := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		select {
		case <-ss.ctx.Done():
			ss.kill(syscall.SIGKILL)
		case <-exited:
		}
	})
	ss.cmd.Wait()
	close(exited)
	watch.Wait()

	drained := make(chan struct{})
	go func() { outs.Wait(); close(drained) }()
	timer := time.NewTimer(drainWait)
	select {
	case <-drained:
	case <-timer.C:
	case <-ss.ctx.Done():
	}
	timer.Stop()
	// Whatever the process left behind would keep the output open.
	ss.kill(syscall.SIGKILL)
	ss.mu.Lock()
	ss.pid = 0
	closeAll(ss.outs...) // unblocks the copies
	if ss.stdin != nil {
		ss.stdin.Close()
	}
	ss.mu.Unlock()
	<-drained

	code, sig := exitOf(ss.cmd.ProcessState)
	if ss.rec != nil {
		ss.rec.close(ss.n, code)
	}
	ss.log.Debug("ssh process ended", "exit", code, "signal", sig)
	ss.ch.CloseWrite()
	if sig != "" {
		ss.ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{Signal: sig}))
	} else {
		ss.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
	}
	ss.ch.Close()
}

// copyOut keeps reading after the client stopped taking data, so that the
// process never blocks on a full pipe and the transcript stays complete.
func (ss *session) copyOut(r io.Reader, w io.Writer) {
	buf := make([]byte, 32<<10)
	var werr error
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if ss.rec != nil {
				ss.rec.Write(buf[:n])
			}
			if werr == nil {
				_, werr = w.Write(buf[:n])
			}
		}
		if err != nil {
			if err != io.EOF && !isEIO(err) {
				ss.log.Debug("ssh output", "err", err)
			}
			return
		}
	}
}

// kill signals the process group, which is the process' own (Setsid).
func (ss *session) kill(sig syscall.Signal) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.pid > 0 {
		syscall.Kill(-ss.pid, sig)
	}
}

// exitOf gives the exit code (128+N for death by signal N, as shells do)
// and, for a death by signal, its RFC 4254 name.
func exitOf(ps *os.ProcessState) (code int, sig string) {
	if ps == nil {
		return 255, "" // not waited for: somebody else reaped it
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return ps.ExitCode(), ""
	}
	if ws.Signaled() {
		s := ws.Signal()
		name, ok := signalNames[s]
		if !ok {
			name = fmt.Sprintf("SIG%d", int(s))
		}
		return 128 + int(s), name
	}
	return ws.ExitStatus(), ""
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// signals are the names of RFC 4254 (and the other usual ones), without "SIG".
var signals = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "FPE": syscall.SIGFPE,
	"HUP": syscall.SIGHUP, "ILL": syscall.SIGILL, "INT": syscall.SIGINT,
	"KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE, "QUIT": syscall.SIGQUIT,
	"SEGV": syscall.SIGSEGV, "TERM": syscall.SIGTERM, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2, "BUS": syscall.SIGBUS, "CONT": syscall.SIGCONT,
	"STOP": syscall.SIGSTOP, "TSTP": syscall.SIGTSTP, "TTIN": syscall.SIGTTIN,
	"TTOU": syscall.SIGTTOU, "TRAP": syscall.SIGTRAP, "SYS": syscall.SIGSYS,
	"XCPU": syscall.SIGXCPU, "XFSZ": syscall.SIGXFSZ, "WINCH": syscall.SIGWINCH,
	"VTALRM": syscall.SIGVTALRM, "PROF": syscall.SIGPROF,
}

var signalNames = func() map[syscall.Signal]string {
	m := make(map[syscall.Signal]string, len(signals))
	for name, s := range signals {
		m[s] = name
	}
	return m
}()
