package httpserve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ingo-grader/ingo/internal/logging"
)

// Bounds of every listener, beyond Limits.
const (
	MaxHeaderBytes    = 16 << 10
	MaxStreams        = 16
	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 2 * time.Minute
)

// Limits are the bounds of a listener (DefaultLimits).
type Limits struct {
	// MaxConns bounds the connections open at once, MaxConnsPerAddr
	// the untrusted ones from one address. A quarter of MaxConns may be
	// trusted by one token's holder, and a quarter of it is the
	// requests on untrusted connections being served at once.
	MaxConns        int
	MaxConnsPerAddr int
	// WriteStall is how long a response write may wait for the client
	// on a trusted connection, UntrustedStall on another.
	WriteStall, UntrustedStall time.Duration
}

// DefaultLimits fit an installation's frontends, dashboards and scrapers
// many times over: a web app or a proxy holds a few connections, each
// dashboard one (its event stream) and a few for its requests.
func DefaultLimits() Limits {
	return Limits{MaxConns: 512, MaxConnsPerAddr: 64, WriteStall: 30 * time.Second, UntrustedStall: 10 * time.Second}
}

func (l Limits) maxTrusted() int           { return max(l.MaxConns/4, 1) }
func (l Limits) maxUntrustedRequests() int { return max(l.MaxConns/4, 1) }

// Options configure Serve.
type Options struct {
	// TLS, when set, serves HTTPS only (and HTTP/2).
	TLS *tls.Config
	// Log; nil discards.
	Log *slog.Logger
	// Ready is called with the base URL once the server serves.
	Ready func(url string)
	// Limits; zero fields take DefaultLimits'.
	Limits Limits
}

// Serve serves h on ln until ctx ends, then lets requests in flight finish
// for a few seconds (server-sent event streams are cut).
func Serve(ctx context.Context, ln net.Listener, h http.Handler, o Options) error {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim := o.Limits.withDefaults()
	// Failed handshakes and refusals are what strangers cause at will.
	noisy := logging.Limited(log, time.Minute, 10)
	hs := &http.Server{
		TLSConfig:         o.TLS,
		Handler:           guard(h, lim),
		ReadHeaderTimeout: ReadHeaderTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		// A kept-alive connection that sends nothing is closed: without
		// it, anyone could hold connections (and descriptors) for free.
		IdleTimeout: IdleTimeout,
		HTTP2:       &http.HTTP2Config{MaxConcurrentStreams: MaxStreams},
		ErrorLog:    errorLog(log, noisy),
		BaseContext: func(net.Listener) context.Context { return ctx },
		ConnContext: connContext,
	}
	ln = limitConns(ln, lim, noisy)
	errc := make(chan error, 1)
	scheme := "http"
	if o.TLS != nil {
		scheme = "https"
		// ServeTLS adds HTTP/2 to a clone of TLS; a handshake that
		// stalls is held to ReadHeaderTimeout like a slow request.
		go func() { errc <- hs.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- hs.Serve(ln) }() // ends when Shutdown below closes ln
	}
	if o.Ready != nil {
		o.Ready(scheme + "://" + reachableAddr(ln.Addr()) + "/")
	}
	select {
	case err := <-errc:
		return fmt.Errorf("HTTP server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("HTTP shutdown", "err", err)
	}
	<-errc
	return nil
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	if l.MaxConnsPerAddr <= 0 {
		l.MaxConnsPerAddr = d.MaxConnsPerAddr
	}
	if l.WriteStall <= 0 {
		l.WriteStall = d.WriteStall
	}
	if l.UntrustedStall <= 0 {
		l.UntrustedStall = min(d.UntrustedStall, l.WriteStall)
	}
	return l
}

// reachableAddr is addr as this machine reaches it: a listener on every
// address (0.0.0.0, ::) by the loopback one, which certificates of ingo
// certs cover and which works where "0.0.0.0" does not.
func reachableAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // a listener on :: takes IPv4 too
	}
	return net.JoinHostPort(host, port)
}
