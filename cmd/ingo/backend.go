package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/backend/journal"
	"github.com/ingo-grader/ingo/backend/leader"
	"github.com/ingo-grader/ingo/cmd/ingo/metrics"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/logging"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/natsserver"
	"github.com/ingo-grader/ingo/internal/tlsfiles"
	"github.com/ingo-grader/ingo/messages"
)

func newBackendCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backend",
		Short: "Run the scheduler, optionally with its own NATS server",
		Long: `Run the backend: the job queue and every job's lifecycle.

With --embedded-nats the backend also serves NATS (with JetStream, data under
--data-dir) at the host:port of --nats-url, which is all a one-machine setup
needs. Without it, it connects to the NATS server at --nats-url.

With backend.durable (the default) every job transition, and every result
until its client acknowledges it, is stored in JetStream first, and the queue
is rebuilt from it on start. Several backends may point at the same NATS: one
is active, the others stand by and one of them takes over within
backend.takeover-timeout when the active one dies.

The first SIGINT or SIGTERM stops it gracefully (a standby takes over at
once); a second exits at once.`,
		Example: `  ingo backend --embedded-nats
  ingo backend --embedded-nats --nats-url nats://127.0.0.1:14222 --data-dir /var/lib/ingo`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runBackend(cmd.Context()) },
	}
	fs := cmd.Flags()
	schema.AddFlag(fs, "backend.embedded-nats", "embedded-nats", "", "")
	schema.AddFlag(fs, "backend.data-dir", "data-dir", "", "")
	schema.AddFlag(fs, "backend.metrics-addr", "metrics-addr", "", "")
	return cmd
}

func (a *app) runBackend(ctx context.Context) error {
	cfg := a.cfg
	natsURL := cfg.NATS.URL
	if cfg.Backend.EmbeddedNATS {
		srv, err := a.startEmbeddedNATS(cfg.Backend.DataDir)
		if err != nil {
			return err
		}
		stopRevocations := a.followRevocations(ctx, srv, cfg.Backend.DataDir)
		defer func() {
			stopRevocations()
			// What the server carried, for an operator sizing it (and the
			// process report: how many NATS messages a job costs).
			if v, err := srv.Varz(nil); err == nil {
				a.log.Info("embedded NATS server stopping", "msgs_in", v.InMsgs, "msgs_out", v.OutMsgs,
					"bytes_in", v.InBytes, "bytes_out", v.OutBytes)
			}
			srv.Shutdown()
			srv.WaitForShutdown()
		}()
		natsURL = srv.ClientURL()
	}
	return a.runBackendOn(ctx, natsURL)
}

// runBackendOn runs the backend (active or standby) on the NATS at natsURL
// until ctx ends.
func (a *app) runBackendOn(ctx context.Context, natsURL string) error {
	cfg := a.cfg
	creds, err := a.credsFor(natsauth.RoleBackend, "")
	if err != nil {
		return err
	}
	nc, err := a.dial(natsURL, "ingo-backend", creds)
	if err != nil {
		return err
	}
	defer closeConn(nc)
	bm, stopMetrics, err := a.backendMetrics(ctx, nc) // backend.metrics-addr
	if err != nil {
		return err
	}
	defer stopMetrics()
	if err := a.waitConnected(ctx, nc, 0, 10*time.Second); err != nil {
		return stopped(ctx, err)
	}

	a.log.Info("connected to NATS", "url", natsconn.Redact(natsURL), "as", creds.Name)
	// The task bundle store is the backend's to create: agents may only
	// read it, frontends only add to it.
	if err := a.ensureBundleStore(ctx, nc); err != nil {
		return stopped(ctx, err)
	}
	bc := backendConfig(cfg)
	if !cfg.Backend.Durable {
		a.log.Warn("backend.durable is off: the queue lives in memory only, and no standby can take over")
		b, err := a.newBackend(nc, bc, bm)
		if err != nil {
			return err
		}
		return a.serveBackend(ctx, nc, b, nil, bm)
	}
	jctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// A journal per term as the active backend: it follows the live jobs
	// and compacts only while its backend runs, and one that failed is
	// not used again.
	openJournal := func() (*journal.Journal, error) {
		octx, ocancel := context.WithTimeout(ctx, 10*time.Second)
		defer ocancel()
		j, err := journal.Open(octx, nc, journal.Options{
			Prefix:   cfg.Prefix,
			Replicas: cfg.Backend.Replicas,
			MaxBytes: cfg.Backend.JournalMaxBytes,
			// Undelivered results must outlive their retention in the stream.
			MaxAge: max(7*24*time.Hour, 2*cfg.Backend.ResultRetention),
			Log:    a.log.With("component", "journal"),
		})
		if err != nil {
			return nil, fmt.Errorf("%w (backend.durable needs JetStream on the NATS server; set backend.durable false to run without)", err)
		}
		return j, nil
	}
	// Once before campaigning, so that a server without JetStream is said
	// at once rather than after winning the lease.
	j, err := openJournal()
	if err != nil {
		return err
	}
	j.Close()
	if cfg.Backend.History {
		hs, err := a.openHistory(ctx, nc)
		if err != nil {
			return err
		}
		defer hs.Close()
		bc.History = hs
	} else {
		a.log.Info("backend.history is off: no job history is kept, and ingo result, ingo jobs and GET /api/v1/jobs find nothing")
	}
	a.log.Info("durable journal on JetStream", "stream", messages.NewSubjects(cfg.Prefix).JournalStream())
	// The lease is renewed on a connection of its own: on the backend's,
	// a renewal would wait behind a replay's batches of records and the
	// results going out at a deadline, and the only backend could depose
	// itself while busy.
	lnc, err := a.dial(natsURL, "ingo-backend-leader", creds)
	if err != nil {
		return err
	}
	defer closeConn(lnc)
	if err := a.waitConnected(ctx, lnc, 0, 10*time.Second); err != nil {
		return stopped(ctx, err)
	}
	el, err := leader.New(jctx, lnc, leader.Options{
		Prefix: cfg.Prefix,
		// The standby's poll and the server's expiry timer take the rest.
		TTL:      cfg.Backend.TakeoverTimeout * 7 / 10,
		Replicas: cfg.Backend.Replicas,
		Log:      a.log.With("component", "leader"),
	})
	if err != nil {
		return fmt.Errorf("%w (the leader bucket needs JetStream on the NATS server)", err)
	}
	// One active backend per installation: the others stand by, and one of
	// them takes over (replaying the journal) when the active one dies.
	// The replay starts while the dead one's lease expires (warmstandby.go).
	build := func() (*preloaded, error) {
		j, err := openJournal()
		if err != nil {
			return nil, err
		}
		pbc := bc
		pbc.Journal = j
		b, err := a.newBackend(nc, pbc, bm)
		if err != nil {
			j.Close()
			return nil, err
		}
		return &preloaded{b: b, j: j}, nil
	}
	for {
		warm := startWarmStandby(ctx, a.log.With("component", "backend"), el, build)
		lease, err := el.Campaign(ctx)
		pre := warm.take()
		if err != nil {
			pre.close()
			return stopped(ctx, err)
		}
		// A backend of its own preload may find it stale, and is then
		// replaced by one that replays from the start, which cannot be.
		for {
			if pre == nil {
				if pre, err = build(); err != nil {
					rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
					_ = lease.Release(rctx)
					rcancel()
					return err
				}
			}
			err = a.serveBackend(ctx, nc, pre.b, lease, bm)
			pre.close()
			if !errors.Is(err, backend.ErrPreloadStale) {
				break
			}
			a.log.Info("the journal changed since it was preloaded; replaying it from the start", "why", err)
			pre = nil
		}
		switch {
		case ctx.Err() != nil:
			return err
		case errors.Is(err, backend.ErrDeposed):
			a.log.Warn("no longer the active backend; standing by again", "why", err)
		case errors.Is(err, backend.ErrJournalFailed):
			// The lease was released: this process, or a standby, takes
			// over from the journal.
			a.log.Warn("the journal failed; campaigning again to rebuild the backend from it", "why", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		default:
			return err
		}
	}
}

// newBackend makes a backend for bc, followed by bm (nil: none) once it
// runs.
func (a *app) newBackend(nc *nats.Conn, bc backend.Config, bm *metrics.Backend) (*backend.Backend, error) {
	bc.Observer = bm.Observer()
	bc.Serving = capGCGrowth
	b, err := backend.New(nc, bc, a.log.With("component", "backend"))
	if err != nil {
		return nil, fmt.Errorf("%w (check the backend.* settings)", err)
	}
	return b, nil
}

// serveBackend runs one backend until ctx ends or, with a lease, until the
// lease is lost (then it returns an error wrapping backend.ErrDeposed).
// bm (nil: none) follows the backend while it runs.
func (a *app) serveBackend(ctx context.Context, nc *nats.Conn, b *backend.Backend, lease *leader.Lease, bm *metrics.Backend) error {
	var leased <-chan struct{}
	if lease != nil {
		leased = lease.Done()
	}
	bm.FollowLeased(b, leased)
	defer bm.Follow(nil)
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if lease != nil {
		go func() { // ends with Run: runCtx is cancelled on return
			select {
			case <-lease.Done():
				cancel(fmt.Errorf("%w: %w", backend.ErrDeposed, lease.Err()))
			case <-runCtx.Done():
			}
		}()
	}
	err := b.Run(runCtx)
	if errors.Is(err, backend.ErrPreloadStale) {
		return err // nothing served: the lease stays, for a replay from scratch
	}
	// Results and acknowledgements published last must leave before the
	// connection (and the embedded server) goes.
	if ferr := nc.FlushTimeout(2 * time.Second); ferr != nil && !errors.Is(ferr, context.Canceled) {
		a.log.Debug("flush on stop", "err", ferr)
	}
	if lease != nil && !errors.Is(err, backend.ErrDeposed) {
		// Stopping on purpose: hand over at once rather than after the TTL.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		if rerr := lease.Release(rctx); rerr != nil {
			a.log.Warn("could not release the leadership lease; a standby takes over when it expires", "err", rerr)
		}
		rcancel()
	}
	if errors.Is(err, backend.ErrDeposed) || errors.Is(err, backend.ErrJournalFailed) {
		return err
	}
	if err = stopped(ctx, err); err != nil {
		return fmt.Errorf("backend: %w", err)
	}
	return nil
}

// startEmbeddedNATS serves NATS with JetStream at the host:port of
// nats.url, with its files under backend.data-dir.
func (a *app) startEmbeddedNATS(dataDir string) (*server.Server, error) {
	cfg := a.cfg
	addr, err := listenAddr(cfg.NATS.URL)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded NATS: create the data directory: %w (choose another with --data-dir)", err)
	}
	keys, err := a.loadEmbeddedKeys(dataDir)
	if err != nil {
		return nil, err
	}
	tc, err := a.embeddedTLS(addr)
	if err != nil {
		return nil, err
	}
	srv, err := natsserver.Start(natsserver.Options{
		Addr:    addr,
		DataDir: dataDir,
		Logger:  a.natsLogger(),
		Keys:    keys,
		TLS:     tc,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: is another NATS server or ingo backend using %s? Stop it, or choose another address with --nats-url", err, addr)
	}
	a.keys = keys
	a.inProcess = srv
	a.log.Info("embedded NATS server ready", "url", srv.ClientURL(), "data-dir", dataDir, "tls", tc != nil)
	return srv, nil
}

// embeddedTLS is the embedded server's TLS configuration, nil without
// backend.nats-tls-cert; served in clear beyond this machine, it says
// what that exposes.
func (a *app) embeddedTLS(addr string) (*tls.Config, error) {
	cfg := a.cfg.Backend
	if cfg.NATSTLSCert == "" && cfg.NATSTLSKey == "" && strings.HasPrefix(a.cfg.NATS.URL, "tls://") {
		return nil, errors.New("nats.url is a tls:// URL, but the embedded NATS server has no certificate: set backend.nats-tls-cert and backend.nats-tls-key (ingo certs makes them), or listen at a nats:// URL")
	}
	return a.serverTLS("backend.nats-tls-cert", cfg.NATSTLSCert, cfg.NATSTLSKey, addr,
		"the embedded NATS server listens beyond this machine without TLS: anyone on the network path reads job inputs, task bundles (hidden tests too) and results; set backend.nats-tls-cert and backend.nats-tls-key (ingo certs makes them)")
}

// serverTLS is the TLS configuration of a listener at addr from its
// certificate and key files (certKey names the setting in errors), nil
// with neither; a listener in clear beyond this machine logs clear, what
// that exposes.
func (a *app) serverTLS(certKey, cert, key, addr, clear string) (*tls.Config, error) {
	if cert == "" && key == "" {
		if host, _, _ := net.SplitHostPort(addr); !loopbackHost(host) {
			a.log.Warn(clear, "addr", addr)
		}
		return nil, nil
	}
	tc, err := tlsfiles.ServerConfig(cert, key, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certKey, err)
	}
	return tc, nil
}

// loopbackHost says whether a listener on host is reachable from this
// machine only.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// natsLogger is the embedded server's logger: its notices only at debug
// level, so that they do not bury the backend's own.
func (a *app) natsLogger() *slog.Logger {
	log := a.log.With("component", "nats")
	if level, err := logging.ParseLevel(a.cfg.Log.Level); err == nil && level <= slog.LevelDebug {
		return log
	}
	return logging.AtLeast(log, slog.LevelWarn)
}

// listenAddr turns nats.url into the host:port an embedded server listens
// on; it must name one plain nats:// address.
func listenAddr(natsURL string) (string, error) {
	if strings.Contains(natsURL, ",") {
		return "", fmt.Errorf("--embedded-nats serves one address, but nats.url lists several (%s): give one nats://HOST:PORT", natsconn.Redact(natsURL))
	}
	u, err := url.Parse(natsURL)
	if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Hostname() == "" {
		return "", fmt.Errorf("--embedded-nats needs a nats://HOST:PORT (or tls://HOST:PORT) URL to listen on, not %q", natsconn.Redact(natsURL))
	}
	port := u.Port()
	if port == "" {
		port = "4222"
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// backendConfig maps the settings onto the backend's own configuration.
func backendConfig(cfg *Config) backend.Config {
	bc := cfg.Backend.Config
	bc.Prefix = cfg.Prefix
	return bc
}

// stopped turns the error of a component stopped by a signal into nil:
// being asked to stop is not a failure.
func stopped(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.Cause(ctx))) {
		return nil
	}
	return err
}

// ensureBundleStore creates the task bundle store if it is missing, with
// the journal's replicas.
func (a *app) ensureBundleStore(ctx context.Context, nc *nats.Conn) error {
	stream := messages.NewSubjects(a.cfg.Prefix).BundleStream()
	var err error
	// JetStream may not answer for a moment after the server started
	// (it enables the account's JetStream as the account loads).
	deadline := time.Now().Add(15 * time.Second)
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = bundle.EnsureStore(sctx, nc, a.cfg.Prefix, bundle.StoreConfig{Replicas: a.cfg.Backend.Replicas,
			Retention: a.cfg.Backend.BundleRetention, MaxBytes: a.cfg.Backend.BundleMaxBytes})
		cancel()
		if err == nil {
			return nil
		}
		if natsconn.StoreBound(err) {
			// Its bound does not fit the server's store: asking again
			// for 15 s does not help, and JetStream is running.
			return fmt.Errorf("create the task bundle store %q: %w", stream, err)
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("create the task bundle store %q: %w (does the NATS server run JetStream?)", stream, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}
