package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ingo-grader/ingo/internal/logging"
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
	// bad-handshake, handshake-incomplete, not-allowed, too-many-conns,
	// too-many-conns-from-addr, write-stalled.
	Closed map[string]uint64
	// Jobs is the number of jobs the bridge follows now (submitted and not
	// finished), and UnfinishedBytes what they count against
	// Options.MaxUnfinishedBytes.
	Jobs            int
	UnfinishedBytes int64
}

// guard is a bridge's settings and counters for its listener. It reaches
// the transport in the context of the bridge's socket, zmq4's only way
// from a socket to its transport.
type guard struct {
	allow                []netip.Prefix // set by Run before it listens
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
		// A line per connection closed is a line per connection of a
		// stranger's: a flood wrote 220,000 in 20 s.
		log:    logging.Limited(log, time.Minute, 10),
		closed: map[string]uint64{},
	}
}

// parseAllow reads Options.Allow: IPs and CIDR prefixes; empty,
// loopback only.
func parseAllow(list []string) ([]netip.Prefix, error) {
	if len(list) == 0 {
		return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, nil
	}
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("inginious.allow: %q is neither an IP address nor a CIDR prefix (10.1.2.3, 10.1.2.0/24)", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// allowed tells whether a webapp may connect from host (an IP).
func (g *guard) allowed(host string) bool {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range g.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
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
	{errNotAllowed, "not-allowed"},
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

// Stats returns the connection counters and the jobs followed now.
func (b *Bridge) Stats() Stats {
	b.guard.mu.Lock()
	s := Stats{Conns: b.guard.served.Load(), Closed: maps.Clone(b.guard.closed)}
	b.guard.mu.Unlock()
	b.mu.Lock()
	s.Jobs, s.UnfinishedBytes = len(b.jobs), b.unfinished
	b.mu.Unlock()
	return s
}
