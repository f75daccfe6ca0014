package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/ingo-grader/ingo/cmd/ingo/metrics"
	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/tlsfiles"
)

func newUpCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a whole grading system on this machine",
		Long: `Run everything in one process: a NATS server with JetStream (data under
--data-dir), the backend, a Docker agent for the local engine, and the HTTP
API with the dashboard at --http-addr. It prints where the dashboard is and
how to submit, and warns when no grading image is there yet (build them with
'make images').

Jobs and undelivered results are kept in the data directory: a restart of
'ingo up' loses none.

The first Ctrl-C (SIGINT or SIGTERM) stops everything cleanly; a second
exits at once.`,
		Example: `  ingo up
  ingo up --http-addr 0.0.0.0:8080 --concurrency 4
  ingo up --runtime noop      # no Docker: every job succeeds at once`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runUp(cmd.Context()) },
	}
	fs := cmd.Flags()
	schema.AddFlag(fs, "http-addr", "http-addr", "", "")
	schema.AddFlag(fs, "up.data-dir", "data-dir", "", "")
	schema.AddFlag(fs, "agent.runtime", "runtime", "", "")
	schema.AddFlag(fs, "agent.slots", "concurrency", "", "")
	schema.AddFlag(fs, "inginious.listen", "inginious", "", "serve INGInious' client protocol at this ZeroMQ endpoint (tcp://HOST:PORT) too, with the tasks of --inginious-tasks")
	schema.AddFlag(fs, "inginious.tasks-dir", "inginious-tasks", "", "")
	return cmd
}

func (a *app) runUp(ctx context.Context) error {
	cfg := a.cfg
	// Bind HTTP and NATS first: a port in use is an error before anything
	// else has started.
	ln, err := listenHTTP(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	if err := a.writeAPIToken(cfg.Up.DataDir); err != nil {
		ln.Close()
		return fmt.Errorf("HTTP API token: %w", err)
	}
	srv, err := a.startEmbeddedNATS(cfg.Up.DataDir)
	if err != nil {
		ln.Close()
		return err
	}
	stopRevocations := a.followRevocations(ctx, srv, cfg.Up.DataDir)
	defer func() {
		stopRevocations()
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	url := srv.ClientURL()
	a.upRegistry = metrics.NewRegistry()

	// Each part runs until ctx ends; the first to fail stops the others.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.runBackendOn(gctx, url) })
	g.Go(func() error { return a.runAgentOn(gctx, url) })
	if cfg.INGInious.Listen != "" {
		g.Go(func() error { return a.runBridgeOn(gctx, url) })
	}
	var once sync.Once
	g.Go(func() error {
		return a.runAPIOn(gctx, url, ln, func(base string) {
			once.Do(func() { go a.upBanner(gctx, base, url) })
		})
	})
	err = g.Wait()
	if err = stopped(ctx, err); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// caBeside is the CA file ingo certs left beside cert, or a placeholder.
func caBeside(cert string) string {
	ca := filepath.Join(filepath.Dir(cert), tlsfiles.CAFile)
	if _, err := os.Stat(ca); err != nil {
		return "CA-FILE"
	}
	return ca
}

// upBanner says where everything is, then checks that some environment is
// offered: without grading images the Docker agent offers none.
func (a *app) upBanner(ctx context.Context, base, natsURL string) {
	tokenFile := filepath.Join(a.cfg.Up.DataDir, apitoken.TokenFile)
	// With TLS, the commands of the banner need the CA that signed the
	// certificates: ingo certs leaves it beside them.
	submit, curl := "ingo submit", "curl"
	if cert := a.cfg.Backend.NATSTLSCert; cert != "" {
		submit = "INGO_NATS_TLS_CA=" + caBeside(cert) + " " + submit
	}
	if cert := a.cfg.HTTPTLSCert; cert != "" {
		curl += " --cacert " + caBeside(cert)
	}
	fmt.Fprintf(a.stderr, `
ingo is up.
  dashboard   %s
  HTTP API    %sapi/v1/   (docs/api.md)
  NATS        %s   (data in %s)
  API token   %s   (admin; ingo token makes more)
  submit      %s examples/hello -i name=Ada --wait
              or the dashboard's form, or over HTTP:
              tar -C examples/hello -czf hello.tgz .
              %s -H "Authorization: Bearer $(cat %s)" \
                -F 'job={"inputs":{"name":"Ada"}}' -F task=@hello.tgz %sapi/v1/jobs
Ctrl-C stops everything.

`, base, base, natsURL, a.cfg.Up.DataDir, tokenFile, submit, curl, tokenFile, base)
	select {
	case <-ctx.Done():
		return
	case <-time.After(5 * time.Second):
	}
	creds, err := a.credsFor(natsauth.RoleAdmin, "up")
	if err != nil {
		return
	}
	c, closeAll, err := a.openClientOn(ctx, natsURL, creds)
	if err != nil {
		return
	}
	defer closeAll()
	if len(c.Environments()) == 0 {
		hint := "build the grading images with 'make images' (about 80 s, needs root); the agent notices them while it runs"
		if a.cfg.Agent.Runtime != runtimeDocker {
			hint = "check agent.environments"
		}
		a.log.Warn("no agent offers any environment yet: jobs will wait; " + hint)
	}
}
