package main

import (
	"io"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/internal/logging"
	"github.com/ingo-grader/ingo/internal/natsauth"
)

// app is what every subcommand shares: where to print, and the settings and
// logger made from the command line once cobra has parsed it.
type app struct {
	stdout, stderr io.Writer
	configFile     string
	sets           []string // --set KEY=VALUE
	// upRegistry, set by ingo up, gathers the metrics of every part on
	// the API's /metrics.
	upRegistry *prometheus.Registry
	// keys, set beside an embedded NATS server, sign the credentials of
	// the components this process runs (see credsFor).
	keys *natsauth.Keys
	// inProcess, set beside an embedded NATS server, is that server:
	// this process's components connect to it through a pipe, which
	// never crosses a network (and needs no certificate valid for the
	// loopback address). Nor does it cost a loopback socket's system
	// calls and wake-ups: the backend's connection carries every
	// message of every job and every journal and history store, and
	// took a quarter less of the backend's CPU per job through a pipe
	// on a loaded machine (docs/PERFORMANCE.md).
	inProcess nats.InProcessConnProvider

	cfg *Config
	log *slog.Logger
}

// annotationNoConfig marks commands that must work whatever the settings
// say (version): a broken INGO_CONFIG should not hide the version.
const annotationNoConfig = "ingo-no-config"

// setup loads the settings with the flags of the command being run, and
// makes the logger. It is the root's PersistentPreRunE.
func (a *app) setup(cmd *cobra.Command, _ []string) error {
	if cmd.Annotations[annotationNoConfig] != "" {
		return nil
	}
	cfg, file, err := schema.Load(config.Source{File: a.configFile, Flags: cmd.Flags(), Set: a.sets})
	if err != nil {
		return err
	}
	log, err := logging.New(a.stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	a.cfg, a.log = cfg, log
	if file != "" {
		log.Debug("settings read", "file", file)
	}
	return nil
}
