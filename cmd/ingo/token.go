package main

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	api "github.com/ingo-grader/ingo/gateway/http"
	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/messages"
)

func newTokenCmd(a *app) *cobra.Command {
	var role, name string
	cmd := &cobra.Command{
		Use:   "token --role frontend|admin --name NAME [--data-dir DIR]",
		Short: "Print an HTTP API token for a frontend or an admin",
		Long: `Print a bearer token for the HTTP API of 'ingo up' or 'ingo api' with the
same --data-dir. Send it as the header Authorization: Bearer TOKEN.

  frontend NAME  a course web app: it sees and kills only the jobs submitted
                 with a token of NAME, and may not ask for network or for
                 limits above api.frontend-max-limits
  admin NAME     every job, any limits (the dashboard, scripts)

A token verifies itself: it is signed with the key in DIR/` + apitoken.KeyFile + `,
made by the first 'ingo up', 'ingo api' or 'ingo token' on DIR. Anybody who
holds a token is its role until that key is deleted, which revokes every
token made from it (restart ingo up or ingo api then). Tokens never expire.`,
		Example: `  ingo token --role frontend --name course-algo > course-algo.token
  curl -H "Authorization: Bearer $(cat course-algo.token)" http://127.0.0.1:8080/api/v1/queue`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if role == "" || name == "" {
				return &usageError{err: errors.New("--role and --name are required"), command: cmd.CommandPath()}
			}
			r, err := apitoken.ParseRole(role)
			if err != nil {
				return &usageError{err: err, command: cmd.CommandPath()}
			}
			if err := messages.ValidateID(name); err != nil {
				return &usageError{err: fmt.Errorf("--name: %w", err), command: cmd.CommandPath()}
			}
			key, err := apitoken.LoadOrCreateKey(a.cfg.Up.DataDir)
			if err != nil {
				return err
			}
			tok, err := apitoken.Issue(key, r, name, time.Now())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, tok)
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&role, "role", "", "frontend or admin")
	fs.StringVar(&name, "name", "", "who holds it: letters, digits, '-' and '_'")
	schema.AddFlag(fs, "up.data-dir", "data-dir", "", "the data directory of ingo up or ingo api, whose "+apitoken.KeyFile+" signs the token")
	return cmd
}

// apiTokenKey is the key that checks the tokens of `ingo token` for the
// API on dataDir, made when missing. A data directory the API cannot
// write (a read-only volume) only costs those tokens when an admin token
// is set; without either, nobody could use the API.
func apiTokenKey(dataDir string, haveAdminToken bool, log *slog.Logger) ([]byte, error) {
	key, err := apitoken.LoadOrCreateKey(dataDir)
	if err == nil {
		return key, nil
	}
	if !haveAdminToken {
		return nil, fmt.Errorf("HTTP API: no way to check tokens: %w; give a writable --data-dir, or set api.admin-token (INGO_API_ADMIN_TOKEN)", err)
	}
	log.Warn("only api.admin-token is accepted: tokens of ingo token need the key "+
		filepath.Join(dataDir, apitoken.KeyFile), "err", err)
	return nil, nil
}

// frontendPolicy is what frontend tokens may ask: api.frontend-max-limits,
// each 0 standing for the agents' default of that limit,
// api.frontend-network and api.frontend-min-priority.
func frontendPolicy(cfg *Config) api.FrontendPolicy {
	m, d := cfg.API.Frontend.Max, cfg.Agent.DefaultLimits
	return api.FrontendPolicy{
		Network:     cfg.API.Frontend.Network,
		MinPriority: cfg.API.Frontend.MinPriority,
		Defaults:    d,
		Max: messages.Limits{
			Time: orDefault(m.Time, d.Time), HardTime: orDefault(m.HardTime, d.HardTime),
			Memory: orDefault(m.Memory, d.Memory), Processes: orDefault(m.Processes, d.Processes),
			Output: orDefault(m.Output, d.Output), Disk: orDefault(m.Disk, d.Disk),
		},
	}
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// writeAPIToken gives ingo up's admin an HTTP API token in the data
// directory, made on the first start and kept on later ones; it logs where
// (never the token).
func (a *app) writeAPIToken(dataDir string) error {
	key, err := apitoken.LoadOrCreateKey(dataDir)
	if err != nil {
		return err
	}
	path, created, err := apitoken.EnsureAdminToken(dataDir, key, time.Now())
	if err != nil {
		return err
	}
	a.log.Info("HTTP API admin token", "file", path, "new", created)
	return nil
}
