package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/cmd/ingo/metrics"
	"github.com/ingo-grader/ingo/frontendclient"
	bridge "github.com/ingo-grader/ingo/gateway/inginious"
	"github.com/ingo-grader/ingo/internal/natsauth"
)

func newINGIniousBridgeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inginious-bridge",
		Short: "Serve INGInious' client protocol, so an INGInious webapp grades on ingo",
		Long: `Serve, at --listen, what an INGInious webapp's client connects to as its
backend: a ZeroMQ ROUTER socket speaking INGInious' messages. Jobs run on the
ingo backend at --nats-url, with the tasks of --tasks-dir (the webapp's task
folder: <course>/<task>). Point the webapp's backend setting at this endpoint
(docs/inginious-migration.md).

The bridge keeps nothing the webapp depends on: jobs wait in ingo's durable
queue, and a result is acknowledged only once a live webapp has it.`,
		Example: `  ingo inginious-bridge --listen tcp://0.0.0.0:2001 --tasks-dir /var/www/inginious/tasks`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.cfg.INGInious.Listen == "" {
				return errors.New("--listen is required (INGO_INGINIOUS_LISTEN), such as tcp://0.0.0.0:2001")
			}
			return a.runBridgeOn(cmd.Context(), a.cfg.NATS.URL)
		},
	}
	schema.AddFlag(cmd.Flags(), "inginious.listen", "listen", "", "")
	schema.AddFlag(cmd.Flags(), "inginious.tasks-dir", "tasks-dir", "", "")
	schema.AddFlag(cmd.Flags(), "inginious.metrics-addr", "metrics-addr", "", "")
	return cmd
}

// runBridgeOn serves the INGInious bridge for the backend at natsURL until
// ctx ends.
func (a *app) runBridgeOn(ctx context.Context, natsURL string) error {
	cfg := a.cfg.INGInious
	if cfg.TasksDir != "" {
		if st, err := os.Stat(cfg.TasksDir); err != nil || !st.IsDir() {
			return fmt.Errorf("--tasks-dir %s is not a folder (INGO_INGINIOUS_TASKS_DIR)", cfg.TasksDir)
		}
	}
	log := a.log.With("component", "inginious-bridge")
	id := cfg.ClientID
	if id == "" && a.keys != nil {
		host, _ := os.Hostname()
		id = "ingo-inginious-" + sanitizeID(host)
	}
	// A frontend: its client id is the name in its credentials.
	creds, err := a.credsFor(natsauth.RoleFrontend, id)
	if err != nil {
		return err
	}
	id = creds.Name
	nc, err := a.dial(natsURL, "ingo-inginious-bridge", creds)
	if err != nil {
		return err
	}
	defer closeConn(nc)
	if err := a.waitConnected(ctx, nc, 0, 10*time.Second); err != nil {
		return stopped(ctx, err)
	}
	var br *bridge.Bridge
	cl, err := frontendclient.New(ctx, nc, bridge.NewClientOptions(frontendclient.Options{
		Name: "inginious-bridge", ClientID: id, Prefix: a.cfg.Prefix, Log: log}, &br))
	if err != nil {
		return fmt.Errorf("INGInious bridge: %w", err)
	}
	defer cl.Close()
	opts := cfg.Options
	opts.Log = log
	br = bridge.New(cl, opts)
	stopMetrics, err := a.bridgeMetrics(ctx, nc, br) // inginious.metrics-addr
	if err != nil {
		return err
	}
	defer stopMetrics()
	return stopped(ctx, br.Run(ctx))
}

// bridgeMetrics serves the bridge's metrics at inginious.metrics-addr, or
// registers them on ingo up's one /metrics. /readyz is ready while nc is
// connected.
func (a *app) bridgeMetrics(ctx context.Context, nc *nats.Conn, br *bridge.Bridge) (stop func(), err error) {
	addr := a.cfg.INGInious.MetricsAddr
	if a.upRegistry != nil {
		addr = "" // on the API's /metrics
	} else if addr == "" {
		return func() {}, nil
	}
	reg := a.registry()
	if err := metrics.RegisterBridge(reg, func() metrics.BridgeStats { return bridgeStats(br.Stats()) }); err != nil {
		return nil, err
	}
	if err := metrics.RegisterNATS(reg, "inginious", nc); err != nil {
		return nil, err
	}
	if addr == "" {
		return func() {}, nil
	}
	return startMetrics(ctx, a.log.With("component", "metrics"), addr, metricsMux(reg, func() string { return natsReady(nc) }))
}

func bridgeStats(s bridge.Stats) metrics.BridgeStats {
	return metrics.BridgeStats{Conns: s.Conns, Closed: s.Closed, Jobs: s.Jobs, UnfinishedBytes: s.UnfinishedBytes}
}

// sanitizeID makes a host name fit in a client id.
func sanitizeID(s string) string {
	b := []rune{}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b = append(b, r)
		default:
			b = append(b, '-')
		}
	}
	if len(b) == 0 {
		return "local"
	}
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}
