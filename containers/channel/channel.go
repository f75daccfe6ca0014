package channel

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/yamux"
)

// Marker is the line after which the helper's stdout is the session.
const Marker = "INGO-MUX 1"

// SocketPath is where, inside a grading container, run_student and
// ssh_student reach the helper (INGO_HELPER_ROOT prefixes it in tests).
const SocketPath = "/.ingo/channel.sock"

// MaxHeader bounds a stream's header line, newline included.
const MaxHeader = 64 << 10

// Stream kinds; see the package documentation.
const (
	KindResult   = "result"
	KindStudent  = "student"
	KindStdin    = "stdin"
	KindStdout   = "stdout"
	KindStderr   = "stderr"
	KindSSHDebug = "ssh_debug"
	KindSSH      = "ssh"
)

// Return codes of run_student besides the command's own (INGInious').
const (
	CodeOverflow = 252 // the student container ran out of memory
	CodeTimeout  = 253 // it used its CPU time or its wall time
	CodeLaunch   = 254 // it could not be started (or the channel failed)
)

// Header starts every stream.
type Header struct {
	Kind string `json:"kind"`
	// ID names a KindStudent call (its stdin/stdout/stderr streams carry
	// the same ID), or a relayed KindSSH connection (Control.LoggedIn).
	ID string `json:"id,omitempty"`
	// Student is the request of a KindStudent stream.
	Student *StudentRequest `json:"student,omitempty"`
	// User and Password are a KindSSHDebug stream's credentials.
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	// Remote is a KindSSH connection's source as the agent groups
	// clients (an IPv4 address, an IPv6 /64), for per-source bounds.
	Remote string `json:"remote,omitempty"`
}

// StudentRequest is a run_student (or ssh_student) call: INGInious' flags.
// Zero limits inherit the grading container's; larger ones are capped to it.
type StudentRequest struct {
	// Argv is the command (run_student); empty with SSH runs no command.
	Argv []string `json:"argv,omitempty"`
	// Environment is the image's environment name; "" = the job's own.
	Environment  string  `json:"environment,omitempty"`
	Time         float64 `json:"time,omitempty"`      // CPU seconds
	HardTime     float64 `json:"hard_time,omitempty"` // wall seconds
	Memory       int64   `json:"memory,omitempty"`    // MiB
	ShareNetwork bool    `json:"share_network,omitempty"`
	// WorkDir is the command's working directory in the student container
	// (default /task/student).
	WorkDir string `json:"workdir,omitempty"`
	// SSH serves SSH in the student container (ssh_student), after
	// SetupScript and before TeardownScript.
	SSH            bool   `json:"ssh,omitempty"`
	SetupScript    string `json:"setup_script,omitempty"`
	TeardownScript string `json:"teardown_script,omitempty"`
}

// Control is a line from the helper on a KindStudent or KindSSHDebug stream.
type Control struct {
	// Signal is a signal name without "SIG" ("INT", "TERM"...) for the
	// student process.
	Signal string `json:"signal,omitempty"`
	// LoggedIn, on a KindSSHDebug stream, is the ID of a relayed KindSSH
	// connection that has just authenticated: the agent counts it as a
	// session, no longer as pending.
	LoggedIn string `json:"logged_in,omitempty"`
}

// Event is a line from the agent on a KindStudent or KindSSHDebug stream.
type Event struct {
	Event string `json:"event"`
	// Container is the student container's id (EventStarted).
	Container string `json:"container,omitempty"`
	// Code is the return code (EventExit): the command's, or a Code*.
	Code int `json:"code,omitempty"`
	// Reason says why, for CodeLaunch and the others (EventExit).
	Reason string `json:"reason,omitempty"`
	// Port is where the agent listens (EventListening).
	Port int `json:"port,omitempty"`
}

// Events.
const (
	// EventReady: the call has its student slot; the helper opens its
	// KindStdin, KindStdout and KindStderr streams only then, so that a
	// call waiting for a slot holds no stream the agent does not read.
	EventReady     = "ready"
	EventStarted   = "started"
	EventExit      = "exit"
	EventListening = "listening"
)

// ErrHeader is a stream whose header cannot be read.
var ErrHeader = errors.New("channel: bad stream header")

// ResultFrame starts a KindResult stream after its header: the line
// "INGO-RESULT <length>" then exactly length bytes of result.json. The
// length tells the agent it has the whole result before the helper exits.
const ResultFrame = "INGO-RESULT"

// maxFrameLine bounds the frame line: the word, a space, an int64, "\n".
const maxFrameLine = len(ResultFrame) + 21

// ErrResultTooLarge is a result stream announcing more than its reader's
// bound.
var ErrResultTooLarge = errors.New("channel: result over its bound")

// WriteResult writes data framed on a KindResult stream.
func WriteResult(w io.Writer, data []byte) error {
	if _, err := fmt.Fprintf(w, "%s %d\n", ResultFrame, len(data)); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// ReadResult reads the framed result of a KindResult stream (its header
// read), at most max bytes: ErrResultTooLarge when the frame announces
// more (the body is not read), another error when the frame is malformed
// or cut short.
func ReadResult(r io.Reader, max int64) ([]byte, error) {
	var line []byte
	var b [1]byte
	for len(line) < maxFrameLine {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("channel: result frame: %w", err)
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	digits, ok := strings.CutPrefix(string(line), ResultFrame+" ")
	size, err := strconv.ParseInt(digits, 10, 64)
	if !ok || err != nil || size < 0 {
		return nil, fmt.Errorf("channel: bad result frame %q", line)
	}
	if size > max {
		return nil, fmt.Errorf("%w: %d bytes, over %d", ErrResultTooLarge, size, max)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("channel: result cut short: %w", err)
	}
	return data, nil
}

// Config is the yamux configuration of both sides. Keepalives are off: the
// attach stream cannot break without the container or the agent going,
// which the runtime sees anyway.
func Config() *yamux.Config {
	c := yamux.DefaultConfig()
	c.EnableKeepAlive = false
	c.LogOutput = io.Discard
	// A peer that does not read for this long is gone.
	c.ConnectionWriteTimeout = 2 * time.Minute
	c.StreamOpenTimeout = 30 * time.Second
	// Streams are half-closed for long times on purpose (a student's
	// stdin ends long before its stdout): no forced close after a FIN.
	c.StreamCloseTimeout = 0
	c.AcceptBacklog = 64
	return c
}

// WriteHeader writes h and its newline.
func WriteHeader(w io.Writer, h Header) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadHeader reads a header line one byte at a time, so that nothing after
// it is consumed (the rest of the stream is raw bytes for someone else).
func ReadHeader(r io.Reader) (Header, []byte, error) {
	var line []byte
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			line = append(line, b[0])
			if len(line) >= MaxHeader {
				return Header{}, nil, fmt.Errorf("%w: longer than %d bytes", ErrHeader, MaxHeader)
			}
		}
		if err != nil {
			return Header{}, nil, fmt.Errorf("%w: %w", ErrHeader, err)
		}
	}
	var h Header
	if err := json.Unmarshal(line, &h); err != nil {
		return Header{}, nil, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	if h.Kind == "" {
		return Header{}, nil, fmt.Errorf("%w: no kind", ErrHeader)
	}
	return h, append(line, '\n'), nil
}

// Lines reads JSON lines of type T from r (bounded by MaxHeader each).
type Lines[T any] struct{ sc *bufio.Scanner }

// NewLines reads lines from r.
func NewLines[T any](r io.Reader) *Lines[T] {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), MaxHeader)
	return &Lines[T]{sc: sc}
}

// Next returns the next line, or io.EOF at the end.
func (l *Lines[T]) Next() (T, error) {
	var v T
	if !l.sc.Scan() {
		if err := l.sc.Err(); err != nil {
			return v, err
		}
		return v, io.EOF
	}
	if err := json.Unmarshal(l.sc.Bytes(), &v); err != nil {
		return v, fmt.Errorf("channel: bad line: %w", err)
	}
	return v, nil
}

// WriteLine writes v as one JSON line.
func WriteLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// StudentSpec is what the agent gives the helper of a student container
// (`ingo-helper student`), as JSON in the container's environment
// (contract.StudentSpecEnv), never on its command line, which the student
// reads; `ingo-helper student SPEC` takes it as its argument too.
type StudentSpec struct {
	Argv    []string `json:"argv,omitempty"`
	WorkDir string   `json:"workdir,omitempty"`
	// SSH, when set, makes the helper serve SSH over the channel (its
	// stdin and stdout) after SetupScript, then run TeardownScript.
	SSH            *SSHLimits `json:"ssh,omitempty"`
	SetupScript    string     `json:"setup_script,omitempty"`
	TeardownScript string     `json:"teardown_script,omitempty"`
	// Common says that a tar of the course's common student files
	// (course/common/student/...) comes first on the helper's stdin; it
	// unpacks it under /course before anything else.
	Common bool `json:"common,omitempty"`
}

// SSHLimits bound an SSH server's life, in seconds.
type SSHLimits struct {
	// LoginTimeout: no login by then ends the server (default 120).
	LoginTimeout float64 `json:"login_timeout,omitempty"`
	// MaxSession: the server ends then whatever happens (default 1800).
	MaxSession float64 `json:"max_session,omitempty"`
	// HandshakeTimeout: a connection not authenticated by then is closed
	// (default 20).
	HandshakeTimeout float64 `json:"handshake_timeout,omitempty"`
}

// Defaults of SSHLimits.
const (
	DefaultLoginTimeout = 2 * time.Minute
	DefaultMaxSession   = 30 * time.Minute
	// DefaultHandshakeTimeout leaves room for a person typing a password
	// and for the server's delays after failures (at most 5 s each).
	DefaultHandshakeTimeout = 20 * time.Second
)

// Login is LoginTimeout as a duration, or its default.
func (l *SSHLimits) Login() time.Duration {
	if l == nil || l.LoginTimeout <= 0 {
		return DefaultLoginTimeout
	}
	return time.Duration(l.LoginTimeout * float64(time.Second))
}

// Max is MaxSession as a duration, or its default.
func (l *SSHLimits) Max() time.Duration {
	if l == nil || l.MaxSession <= 0 {
		return DefaultMaxSession
	}
	return time.Duration(l.MaxSession * float64(time.Second))
}

// Handshake is HandshakeTimeout as a duration, or its default.
func (l *SSHLimits) Handshake() time.Duration {
	if l == nil || l.HandshakeTimeout <= 0 {
		return DefaultHandshakeTimeout
	}
	return time.Duration(l.HandshakeTimeout * float64(time.Second))
}

// SSHUser is the user of every SSH server (INGInious').
const SSHUser = "worker"
