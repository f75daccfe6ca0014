package helper

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/ingo-grader/ingo/containers/channel"
)

func init() {
	register(&command{
		name: "run_student", raw: true,
		usage: "[--container ENV] [--time S] [--hard-time S] [--memory MIB] [--share-network] CMD [ARGS...]",
		desc:  "run a command in a separate, more restricted student container (stdin, stdout, stderr, signals and the return code pass through)",
		run:   func(e *cmdEnv, a *parsed) error { return studentCall(e, "run_student", a.rest) },
	})
	register(&command{
		name: "ssh_student", raw: true,
		usage: "[--container ENV] [--time S] [--hard-time S] [--memory MIB] [--share-network] [--setup-script CMD] [--teardown-script CMD]",
		desc:  "give the student an SSH session in a student container; returns when it ends",
		run:   func(e *cmdEnv, a *parsed) error { return studentCall(e, "ssh_student", a.rest) },
	})
}

// studentHelp documents both commands' return codes.
const studentHelp = `
Return code: the command's own, or
  252  the student container ran out of memory
  253  it used its CPU time or its wall time (ssh_student: nobody logged in in time, or the session reached its maximum)
  254  it could not be started
Limits of 0 (the default) are the grading container's; larger ones are lowered to them.
`

// parseStudentArgs reads INGInious' flags of run_student / ssh_student.
// Options come before the command; "--" ends them.
func parseStudentArgs(name string, argv []string) (channel.StudentRequest, bool, error) {
	var r channel.StudentRequest
	ssh := name == "ssh_student"
	r.SSH = ssh
	valued := map[string]bool{"container": true, "time": true, "hard-time": true, "memory": true}
	if ssh {
		valued["setup-script"], valued["teardown-script"] = true, true
	}
	i := 0
	for ; i < len(argv); i++ {
		arg := argv[i]
		if arg == "--" {
			i++
			break
		}
		if arg == "-h" || arg == "--help" {
			return r, true, nil
		}
		if !strings.HasPrefix(arg, "--") {
			break
		}
		key, val, hasVal := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		switch {
		case key == "share-network":
			if hasVal {
				return r, false, usagef("argument --share-network: ignored explicit argument %q", val)
			}
			r.ShareNetwork = true
			continue
		case key == "run-as-root" || key == "start-student-as-root":
			return r, false, exitWith(channel.CodeLaunch, errors.New("running the student as root is not supported"))
		case !valued[key]:
			return r, false, usagef("unrecognized arguments: %s", arg)
		}
		if !hasVal {
			if i+1 >= len(argv) {
				return r, false, usagef("argument --%s: expected one argument", key)
			}
			i++
			val = argv[i]
		}
		var err error
		switch key {
		case "container":
			r.Environment = val
		case "time":
			r.Time, err = parseSeconds(val)
		case "hard-time":
			r.HardTime, err = parseSeconds(val)
		case "memory":
			r.Memory, err = strconv.ParseInt(val, 10, 64)
			if err == nil && r.Memory < 0 {
				err = errors.New("negative")
			}
		case "setup-script":
			r.SetupScript = val
		case "teardown-script":
			r.TeardownScript = val
		}
		if err != nil {
			return r, false, usagef("argument --%s: invalid value: %q", key, val)
		}
	}
	rest := argv[i:]
	if len(rest) == 1 {
		// INGInious joins its arguments and splits them again the shell's
		// way, so run files pass the whole command as one string.
		split, err := shellSplit(rest[0])
		if err != nil {
			return r, false, usagef("command: %v", err)
		}
		rest = split
	}
	r.Argv = rest
	if !ssh && len(r.Argv) == 0 {
		return r, false, usagef("the following arguments are required: cmd")
	}
	if ssh && len(rest) > 0 {
		return r, false, usagef("unrecognized arguments: %s", strings.Join(rest, " "))
	}
	return r, false, nil
}

func parseSeconds(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v != v {
		return 0, errors.New("bad number")
	}
	return v, nil
}

// forwarded are the signals passed on to the student process (all that
// can be caught and make sense to pass on).
var forwarded = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGCONT, syscall.SIGTSTP, syscall.SIGWINCH}

// studentCall is run_student and ssh_student: it asks the agent, through
// the helper's channel socket, for a student container, relays its stdin,
// stdout and stderr and the signals it receives, and returns the code.
func studentCall(e *cmdEnv, name string, argv []string) error {
	req, help, err := parseStudentArgs(name, argv)
	if help {
		c := commands[name]
		fmt.Fprintf(e.stdout, "usage: %s %s\n\n%s\n%s", name, c.usage, c.desc, studentHelp)
		return nil
	}
	if err != nil {
		return err
	}
	if cwd, err := os.Getwd(); err == nil {
		req.WorkDir = strings.TrimPrefix(cwd, e.paths.Root)
	}
	sock := e.paths.Root + channel.SocketPath
	idb := make([]byte, 8)
	_, _ = rand.Read(idb)
	id := hex.EncodeToString(idb)

	dial := func(h channel.Header) (*net.UnixConn, error) {
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
		if err != nil {
			return nil, err
		}
		if err := channel.WriteHeader(c, h); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	launch := func(err error) error {
		return exitWith(channel.CodeLaunch, fmt.Errorf("cannot reach the agent (%v); student containers need ingo's Docker agent", err))
	}
	ctl, err := dial(channel.Header{Kind: channel.KindStudent, ID: id, Student: &req})
	if err != nil {
		return launch(err)
	}
	defer ctl.Close()

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			n := strings.TrimPrefix(signalName(s.(syscall.Signal)), "SIG")
			if channel.WriteLine(ctl, channel.Control{Signal: n}) != nil {
				return
			}
		}
	}()

	// The io streams once the agent has a student slot for the call
	// (channel.EventReady), or its early answer.
	events := channel.NewLines[channel.Event](ctl)
	for {
		ev, err := events.Next()
		if err != nil {
			return exitWith(channel.CodeLaunch, errors.New("the agent ended the call without a return code"))
		}
		if ev.Event == channel.EventExit {
			return studentExit(ev)
		}
		if ev.Event == channel.EventReady {
			break
		}
	}
	var streams [3]*net.UnixConn
	for i, kind := range []string{channel.KindStdin, channel.KindStdout, channel.KindStderr} {
		if streams[i], err = dial(channel.Header{Kind: kind, ID: id}); err != nil {
			return launch(err)
		}
		defer streams[i].Close()
	}
	// stdin: copied until its end; a stdin that never ends is left behind
	// when the process exits.
	go func() {
		if e.stdin != nil {
			_, _ = io.Copy(streams[0], e.stdin)
		}
		_ = streams[0].CloseWrite()
	}()
	var outputs sync.WaitGroup
	for i, w := range []io.Writer{e.stdout, e.stderr} {
		c := streams[i+1]
		_ = c.CloseWrite()
		outputs.Add(1)
		go func() {
			defer outputs.Done()
			_, _ = io.Copy(w, c)
		}()
	}

	for {
		ev, err := events.Next()
		if err != nil {
			return exitWith(channel.CodeLaunch, errors.New("the agent ended the call without a return code"))
		}
		if ev.Event != channel.EventExit {
			continue
		}
		outputs.Wait()
		return studentExit(ev)
	}
}

// studentExit is run_student's end for the agent's EventExit.
func studentExit(ev channel.Event) error {
	if ev.Code == channel.CodeLaunch && ev.Reason != "" {
		return exitWith(ev.Code, errors.New(ev.Reason))
	}
	if ev.Code != 0 {
		return exitWith(ev.Code, errQuiet)
	}
	return nil
}

// errQuiet is an exit status with nothing to say on stderr: the student
// command's own code.
var errQuiet = errors.New("")

// signalName is a signal's name ("SIGTERM").
func signalName(s syscall.Signal) string {
	for name, v := range signalsByName {
		if v == s {
			return "SIG" + name
		}
	}
	return "SIG" + strconv.Itoa(int(s))
}

// signalsByName maps names without "SIG" to signals.
var signalsByName = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT, "TERM": syscall.SIGTERM,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "ALRM": syscall.SIGALRM, "CONT": syscall.SIGCONT,
	"TSTP": syscall.SIGTSTP, "WINCH": syscall.SIGWINCH, "KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE,
}

// shellSplit splits s into words as a POSIX shell (and Python's shlex)
// does: quotes and backslashes, no expansions.
func shellSplit(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("no closing quotation")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`\n", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("no closing quotation")
			}
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
