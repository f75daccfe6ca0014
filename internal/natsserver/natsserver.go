package natsserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ingo-grader/ingo/internal/logging"
	"github.com/ingo-grader/ingo/internal/natsauth"
)

// Options configure the embedded server.
type Options struct {
	// Addr is host:port to listen on; port 0 or -1 picks a free port.
	Addr string
	// DataDir holds JetStream's files; empty means a memory-only server
	// without JetStream persistence (JetStream still runs, in a temp dir).
	DataDir string
	// MaxPayload bounds one message; default 8 MiB, enough for a job with
	// its input files or a result with its archive (both bounded below it).
	MaxPayload int32
	// Logger receives the server's notices and errors; nil silences it.
	Logger *slog.Logger
	// ReadyTimeout bounds the wait for the server to accept clients.
	ReadyTimeout time.Duration
	// Keys, required, are the identities the server admits: nobody else
	// connects (DESIGN.md §8).
	Keys *natsauth.Keys
	// TLS, when set, is required of every client on the network (package
	// tlsfiles): without it anyone on the path reads job inputs, task
	// bundles and results. In-process connections (InProcessConn) need
	// none: they never leave the process.
	TLS *tls.Config
}

// DefaultMaxPayload is the max_payload of an embedded server.
const DefaultMaxPayload = 8 << 20

// Start runs a server and waits until it accepts connections.
func Start(o Options) (*server.Server, error) {
	host, portText, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: address %q: %w", o.Addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: port %q: %w", portText, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if o.MaxPayload == 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 10 * time.Second
	}
	opts := &server.Options{
		ServerName: "ingo-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   o.DataDir,
		MaxPayload: o.MaxPayload,
		// The pending buffer must hold several maximal messages, or a
		// burst of large results disconnects a slow consumer.
		MaxPending: int64(o.MaxPayload) * 8,
		NoSigs:     true,
		NoLog:      o.Logger == nil,
	}
	if o.TLS != nil {
		opts.TLSConfig = o.TLS
		opts.TLS = true
	}
	if o.Keys == nil {
		return nil, errors.New("embedded nats: no keys: the server admits no anonymous client")
	}
	if err := o.Keys.Configure(opts); err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	if o.Logger != nil {
		s.SetLoggerV2(&logAdapter{l: o.Logger, clients: logging.Limited(o.Logger, time.Minute, 10)}, false, false, false)
	}
	go s.Start()
	if !s.ReadyForConnections(o.ReadyTimeout) {
		s.Shutdown()
		return nil, errors.New("embedded nats: not ready for connections in time (is the port in use?)")
	}
	return s, nil
}

// logAdapter sends nats-server's log lines to slog. A line about one
// client connection (nats-server starts it with the client's address and
// " - cid:") goes to clients, which passes a few a minute: anyone who
// reaches the port causes one per connection (a TLS handshake that
// fails, a login that times out), and a review wrote 157,000 in 20 s.
type logAdapter struct{ l, clients *slog.Logger }

func (a *logAdapter) to(line string) *slog.Logger {
	if strings.Contains(line, " - cid:") {
		return a.clients
	}
	return a.l
}

func (a *logAdapter) Noticef(format string, v ...any) { a.log(slog.LevelInfo, format, v) }
func (a *logAdapter) Warnf(format string, v ...any)   { a.log(slog.LevelWarn, format, v) }
func (a *logAdapter) Fatalf(format string, v ...any)  { a.log(slog.LevelError, format, v) }
func (a *logAdapter) Errorf(format string, v ...any)  { a.log(slog.LevelError, format, v) }
func (a *logAdapter) Debugf(format string, v ...any)  { a.log(slog.LevelDebug, format, v) }
func (a *logAdapter) Tracef(format string, v ...any)  { a.log(slog.LevelDebug, format, v) }

func (a *logAdapter) log(level slog.Level, format string, v []any) {
	line := fmt.Sprintf(format, v...)
	a.to(line).Log(context.Background(), level, line)
}
