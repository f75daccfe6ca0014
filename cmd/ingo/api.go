package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	api "github.com/ingo-grader/ingo/gateway/http"
	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/gateway/http/dashboard"
	"github.com/ingo-grader/ingo/internal/httpserve"
	"github.com/ingo-grader/ingo/internal/natsauth"
)

func newAPICmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API and the dashboard",
		Long: `Serve the HTTP API of docs/api.md (submit, follow, kill jobs; the queue,
environments and agents), the admin dashboard at /, Prometheus metrics at
/metrics, and /healthz and /readyz, at --http-addr. It is a client of the
backend at --nats-url, like any frontend.

Every /api/v1 route needs Authorization: Bearer TOKEN: api.admin-token, or
a token of 'ingo token' for the same --data-dir (whose api-token.key checks
it; made here when missing). See docs/api.md#authentication.

The first SIGINT or SIGTERM stops it gracefully; a second exits at once.`,
		Example: `  ingo api
  ingo api --http-addr 0.0.0.0:8080 --nats-url nats://nats1:4222,nats://nats2:4222`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ln, err := listenHTTP(a.cfg.HTTPAddr)
			if err != nil {
				return err
			}
			return a.runAPIOn(cmd.Context(), a.cfg.NATS.URL, ln, func(url string) {
				a.log.Info("HTTP API and dashboard ready", "url", url)
			})
		},
	}
	schema.AddFlag(cmd.Flags(), "http-addr", "http-addr", "", "")
	schema.AddFlag(cmd.Flags(), "up.data-dir", "data-dir", "", "directory whose "+apitoken.KeyFile+" checks the tokens of ingo token (ingo up's data directory by default)")
	return cmd
}

// listenHTTP binds the HTTP address early, so that a port in use is a
// clear error before anything else starts.
func listenHTTP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot serve HTTP at %s: %w; is another ingo running? Choose another address with --http-addr (INGO_HTTP_ADDR)", addr, err)
	}
	return ln, nil
}

// runAPIOn serves the HTTP API on ln for the backend at natsURL until ctx
// ends. ready is called with the base URL once the API serves.
func (a *app) runAPIOn(ctx context.Context, natsURL string, ln net.Listener, ready func(url string)) error {
	defer ln.Close()
	cfg := a.cfg
	log := a.log.With("component", "api")
	// The API serves many tokens, admins' among them, and confines each
	// frontend token itself: on NATS it is an admin, of any name.
	creds, err := a.credsFor(natsauth.RoleAdmin, "api")
	if err != nil {
		return err
	}
	nc, err := a.dial(natsURL, "ingo-api", creds)
	if err != nil {
		return err
	}
	defer closeConn(nc)
	if err := a.waitConnected(ctx, nc, 0, 10*time.Second); err != nil {
		return stopped(ctx, err)
	}
	key, err := apiTokenKey(cfg.Up.DataDir, cfg.API.AdminToken != "", log)
	if err != nil {
		return err
	}
	opts := cfg.API // ClientID "": ingo-api-<host name>
	opts.Prefix, opts.TokenKey, opts.Frontend, opts.Log = cfg.Prefix, key, frontendPolicy(cfg), log
	srv, err := api.New(ctx, nc, opts)
	if err != nil {
		return fmt.Errorf("HTTP API: %w", err)
	}
	defer srv.Close()

	mux := http.NewServeMux()
	mux.Handle("/api/", srv.Handler())
	mux.Handle("/healthz", srv.Handler())
	mux.Handle("/readyz", srv.Handler())
	mux.Handle("/metrics", a.metricsHandler(srv, nc))
	mux.Handle("/", dashboard.Handler())
	tc, err := a.httpTLS(ln)
	if err != nil {
		return err
	}
	return httpserve.Serve(ctx, ln, mux, httpserve.Options{TLS: tc, Log: log, Ready: ready,
		Limits: httpserve.Limits{MaxConns: cfg.HTTPMaxConns, MaxConnsPerAddr: cfg.HTTPMaxConnsPerAddr}})
}

// httpTLS is the HTTP API's TLS configuration, nil without
// http-tls-cert; served in clear beyond this machine, it says what that
// exposes.
func (a *app) httpTLS(ln net.Listener) (*tls.Config, error) {
	return a.serverTLS("http-tls-cert", a.cfg.HTTPTLSCert, a.cfg.HTTPTLSKey, ln.Addr().String(),
		"the HTTP API listens beyond this machine without TLS: anyone on the network path reads its bearer tokens, then acts as their holders; set http-tls-cert and http-tls-key (ingo certs makes them), or serve it behind a TLS proxy")
}
