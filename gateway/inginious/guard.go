package bridge

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options; doc.go says why.
const (
	// A job travels to ingo as one NATS message of at most 8 MiB (the
	// embedded max_payload): a larger INGInious message could never be
	// submitted, so reading it would only cost memory.
	defaultMaxMessageBytes = 16 << 20
	// One webapp holds one connection: a few spare for restarts.
	defaultMaxConns         = 16
	defaultMaxConnsPerAddr  = 4
	defaultHandshakeTimeout = 10 * time.Second
)

func (o Options) maxMessageBytes() int64 { return orDefault(o.MaxMessageBytes, defaultMaxMessageBytes) }

// Stats are the bridge's connection counters.
type Stats struct {
	// Conns is the number of webapp connections open (past their
	// handshake).
	Conns int64
	// Closed counts the connections the bridge closed, by reason:
	// frame-too-large, message-too-large, too-many-frames, bad-greeting,
	// bad-handshake, handshake-incomplete, too-many-conns,
	// too-many-conns-from-addr, write-stalled.
	Closed map[string]uint64
}

// guard is a bridge's settings and counters for its listener. It reaches
// the transport in the context of the bridge's socket, zmq4's only way
// from a socket to its transport.
type guard struct {
	lim                  zmtpLimits
	maxConns, maxPerAddr int
	handshakeTimeout     time.Duration
	log                  *slog.Logger

	served atomic.Int64 // connections handed to zmq4, open

	mu     sync.Mutex
	closed map[string]uint64 // connections closed by the bridge, by reason
}

type guardKey struct{}

func newGuard(opts Options, log *slog.Logger) *guard {
	return &guard{
		lim: zmtpLimits{
			message: uint64(opts.maxMessageBytes()) + envelopeBytes,
			command: maxCommandBytes,
			frames:  maxFrames,
		},
		maxConns:         orDefault(opts.MaxConns, defaultMaxConns),
		maxPerAddr:       orDefault(opts.MaxConnsPerAddr, defaultMaxConnsPerAddr),
		handshakeTimeout: orDefault(opts.HandshakeTimeout, defaultHandshakeTimeout),
		log:              log,
		closed:           map[string]uint64{},
	}
}

// orDefault is v, or def when v is not set.
func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// refuse counts and logs a connection the bridge closes.
func (g *guard) refuse(peer string, err error) {
	reason := reasonOf(err)
	g.mu.Lock()
	g.closed[reason]++
	g.mu.Unlock()
	level := slog.LevelWarn
	if reason == "handshake-incomplete" {
		level = slog.LevelInfo // port scans and health checks do that
	}
	g.log.Log(context.Background(), level, "INGInious connection closed", "peer", peer, "reason", reason, "err", err)
}

// reasons name the errors that close a connection, in Stats and logs.
var reasons = []struct {
	err  error
	name string
}{
	{errFrameTooLarge, "frame-too-large"},
	{errMessageTooLarge, "message-too-large"},
	{errTooManyFrames, "too-many-frames"},
	{errBadGreeting, "bad-greeting"},
	{errBadHandshake, "bad-handshake"},
	{errHandshakeIncomplete, "handshake-incomplete"},
	{errTooManyConns, "too-many-conns"},
	{errTooManyFromAddr, "too-many-conns-from-addr"},
	{errWriteStalled, "write-stalled"},
}

func reasonOf(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

// Stats returns the connection counters.
func (b *Bridge) Stats() Stats {
	b.guard.mu.Lock()
	defer b.guard.mu.Unlock()
	return Stats{Conns: b.guard.served.Load(), Closed: maps.Clone(b.guard.closed)}
}
