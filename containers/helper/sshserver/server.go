package sshserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// Options configure a Server.
type Options struct {
	User        string       // the only user accepted, e.g. "worker"
	Password    string       // the only password accepted (compared in constant time)
	Dir         string       // working directory of shells and commands
	Env         []string     // their environment ("K=V"); TERM is added from pty-req
	Shell       string       // "" means /bin/bash if it exists, else /bin/sh
	Record      string       // directory of the session transcripts, session-N.log ("" = none)
	RecordFile  string       // or one file all sessions' transcripts are appended to ("" = none)
	RecordLimit int64        // bytes of transcript across all sessions (<=0: 1 MiB)
	Logger      *slog.Logger // may be nil
	// HandshakeTimeout closes a connection not authenticated by then
	// (<=0: DefaultHandshakeTimeout), so that idle or slow clients cannot
	// hold connections.
	HandshakeTimeout time.Duration
	// OnLogin, if set, is called with the conn given to Serve when it has
	// authenticated (the agent's relay counts it as a session then).
	OnLogin func(conn net.Conn)
	// Start, if set, is called to start each shell or command a session
	// starts, with the start to call (the helper starts them as the OOM
	// killer's first choice).
	Start func(start func() error) error
}

// DefaultHandshakeTimeout is Options.HandshakeTimeout's default.
const DefaultHandshakeTimeout = 20 * time.Second

// maxAuthTries bounds the password attempts of one connection.
const maxAuthTries = 3

// errHandshakeTimeout is a connection closed for not authenticating in time.
var errHandshakeTimeout = errors.New("not authenticated in time")

// Server is an SSH server fed with connections by the caller.
type Server struct {
	opts   Options
	log    *slog.Logger
	rec    *recorder // nil when not recording
	signer ssh.Signer
	thr    *throttle

	// Hashes of the user and password: comparing hashes makes the time
	// independent of the lengths too.
	wantUser, wantPass [sha256.Size]byte

	sessions atomic.Int64 // session channels accepted so far, names transcripts

	loginOnce sync.Once
	logins    chan struct{}
	idle      chan struct{}

	mu     sync.Mutex
	active int
}

const defaultRecordLimit = 1 << 20

// New makes a server with a fresh ed25519 host key.
func New(opts Options) (*Server, error) {
	if opts.User == "" {
		return nil, errors.New("sshserver: no user")
	}
	if opts.Shell == "" {
		opts.Shell = "/bin/sh"
		if _, err := os.Stat("/bin/bash"); err == nil {
			opts.Shell = "/bin/bash"
		}
	}
	if opts.RecordLimit <= 0 {
		opts.RecordLimit = defaultRecordLimit
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sshserver: host key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, fmt.Errorf("sshserver: host key: %w", err)
	}
	s := &Server{
		opts:     opts,
		log:      log,
		signer:   signer,
		thr:      newThrottle(),
		wantUser: sha256.Sum256([]byte(opts.User)),
		wantPass: sha256.Sum256([]byte(opts.Password)),
		logins:   make(chan struct{}),
		idle:     make(chan struct{}, 1),
	}
	switch {
	case opts.Record != "":
		if err := os.MkdirAll(opts.Record, 0o755); err != nil {
			return nil, fmt.Errorf("sshserver: recording: %w", err)
		}
		s.rec = &recorder{dir: opts.Record, limit: opts.RecordLimit}
	case opts.RecordFile != "":
		s.rec = &recorder{file: opts.RecordFile, limit: opts.RecordLimit}
	}
	return s, nil
}

// connConfig is the configuration of one connection: its failures are
// counted in the closure, and its throttled waits end with ctx.
func (s *Server) connConfig(ctx context.Context) *ssh.ServerConfig {
	fails := 0 // the handshake calls back from one goroutine
	c := &ssh.ServerConfig{
		MaxAuthTries: maxAuthTries,
		PasswordCallback: func(c ssh.ConnMetadata, pass []byte) (*ssh.Permissions, error) {
			source := sourceOf(c.RemoteAddr())
			if err := s.thr.before(ctx, source, fails); err != nil {
				return nil, fmt.Errorf("sshserver: password attempt: %w", err)
			}
			u := sha256.Sum256([]byte(c.User()))
			p := sha256.Sum256(pass)
			if subtle.ConstantTimeCompare(u[:], s.wantUser[:])&subtle.ConstantTimeCompare(p[:], s.wantPass[:]) != 1 {
				fails++
				s.thr.failed(source)
				s.log.Debug("ssh password refused", "remote", source, "failures", fails)
				return nil, errors.New("wrong user or password")
			}
			s.thr.succeeded(source)
			return nil, nil
		},
	}
	c.AddHostKey(s.signer)
	return c
}

// Logins returns a channel closed at the first successful authentication.
func (s *Server) Logins() <-chan struct{} { return s.logins }

// Active is the number of authenticated connections being served now.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// Idle returns a channel that receives each time Active drops to 0.
func (s *Server) Idle() <-chan struct{} { return s.idle }

func (s *Server) loggedIn() {
	s.mu.Lock()
	s.active++
	s.mu.Unlock()
	// After counting, so that whoever wakes up on Logins sees Active > 0.
	s.loginOnce.Do(func() { close(s.logins) })
}

func (s *Server) loggedOut() {
	s.mu.Lock()
	s.active--
	zero := s.active == 0
	s.mu.Unlock()
	if zero {
		select {
		case s.idle <- struct{}{}:
		default:
		}
	}
}

// Serve runs the SSH protocol on conn until it ends or ctx is cancelled
// (then it closes conn and kills the processes it started). It returns when
// every session of the connection is over and all its goroutines are done.
// It is safe to call concurrently for many connections.
func (s *Server) Serve(ctx context.Context, conn net.Conn) (err error) {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		conn.Close()
		wg.Wait()
	}()
	wg.Go(func() {
		<-ctx.Done()
		conn.Close() // unblocks the handshake and the connection's reads
	})

	// The deadline cancels ctx, which closes conn (above) and ends a
	// throttled password attempt.
	deadline := time.AfterFunc(s.opts.HandshakeTimeout, cancel)
	sconn, chans, reqs, err := ssh.NewServerConn(conn, s.connConfig(ctx))
	if !deadline.Stop() {
		if err == nil {
			sconn.Close()
			sconn.Wait()
		}
		err = errHandshakeTimeout
	}
	if err != nil {
		s.log.Debug("ssh handshake failed", "remote", conn.RemoteAddr(), "err", err)
		if perr := parent.Err(); perr != nil {
			return perr
		}
		return fmt.Errorf("sshserver: handshake: %w", err)
	}
	if s.opts.OnLogin != nil {
		s.opts.OnLogin(conn)
	}
	s.loggedIn()
	defer s.loggedOut()
	s.log.Info("ssh login", "user", sconn.User(), "remote", sconn.RemoteAddr())
	defer func() {
		sconn.Close()
		sconn.Wait() // the connection's own goroutines end
	}()

	wg.Go(func() { ssh.DiscardRequests(reqs) }) // refuses tcpip-forward and the like

	var sessions sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			s.log.Debug("ssh channel refused", "type", nc.ChannelType())
			nc.Reject(ssh.Prohibited, "only session channels are allowed")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			s.log.Debug("ssh channel accept", "err", err)
			continue
		}
		n := s.sessions.Add(1)
		sessions.Go(func() { s.session(ctx, n, ch, creqs) })
	}
	// The connection is gone: its processes have nobody left to talk to.
	cancel()
	sessions.Wait()
	s.log.Info("ssh connection ended", "user", sconn.User())
	return parent.Err()
}
