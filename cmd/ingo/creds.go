package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/messages"
)

func newCredsCmd(a *app) *cobra.Command {
	var role, name, dataDir string
	var natsConfig, initKeys, revokeAll bool
	var revoke string
	cmd := &cobra.Command{
		Use:   "creds --role agent|frontend|admin|backend --name NAME [--data-dir DIR]",
		Short: "Print NATS credentials for an agent, a frontend, an admin or a backend",
		Long: `Sign a new NATS identity with the installation's keys (nats-keys.json in
--data-dir, made by the first start of 'ingo up' or 'ingo backend
--embedded-nats') and print it as a NATS credentials file. Give it to the
process that needs it with --creds FILE (INGO_NATS_CREDS).

  agent NAME     an agent on another host; its agent id is NAME
  frontend NAME  a course web app (or 'ingo inginious-bridge'): it sees and
                 kills only its own jobs; its client id is NAME
  admin NAME     the CLI and the HTTP API: every job
  backend NAME   an 'ingo backend' without --embedded-nats

With --nats-config it prints instead the block that makes an external NATS
server or cluster trust these keys (docs/security.md). The credentials are
a secret: whoever has them is that identity until they are revoked.`,
		Example: `  ingo creds --role agent --name grader-07 > grader-07.creds
  ingo creds --role frontend --name course-algo --data-dir /var/lib/ingo
  ingo creds --nats-config >> /etc/nats/node1.conf`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if initKeys {
				return a.initKeys(dataDir)
			}
			keys, err := natsauth.Load(dataDir)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no keys in %s: start 'ingo up' or 'ingo backend --embedded-nats' with --data-dir %s once, or point --data-dir at the folder holding %s",
					dataDir, dataDir, natsauth.KeysFile)
			}
			if err != nil {
				return err
			}
			if revoke != "" || revokeAll {
				return a.revokeCreds(keys, dataDir, revoke, revokeAll)
			}
			if natsConfig {
				kept := keys.KeptOperatorJWT()
				adoptOperator(keys, dataDir)
				text, err := keys.ServerConfig()
				if err != nil {
					return err
				}
				// Keep the operator JWT it names (see writeServerConfig),
				// once: the keys are written only when it is new, so that
				// this command does not race a revocation's write, nor
				// need a writable data directory once it is kept.
				if keys.KeptOperatorJWT() != kept {
					if err := keys.Save(dataDir); err != nil {
						fmt.Fprintf(a.stderr, "warning: the operator JWT of this block could not be kept with the keys (%v): a configuration printed later may name another, which a running server refuses to reload\n", err)
					}
				}
				_, err = fmt.Fprint(a.stdout, text)
				return err
			}
			if role == "" || name == "" {
				return &usageError{err: errors.New("--role and --name are required (or --nats-config)"), command: cmd.CommandPath()}
			}
			r, err := natsauth.ParseRole(role)
			if err != nil {
				return &usageError{err: err, command: cmd.CommandPath()}
			}
			c, err := keys.Mint(r, name, a.cfg.Prefix)
			if err != nil {
				return err
			}
			b, err := c.File()
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(b)
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&role, "role", "", "agent, frontend, admin or backend")
	fs.StringVar(&name, "name", "", "the identity's name: letters, digits, '-' and '_'")
	fs.StringVar(&dataDir, "data-dir", config.DefaultDataDir(), "the data directory holding the installation's keys")
	fs.BoolVar(&natsConfig, "nats-config", false, "print the configuration block for an external NATS server instead")
	fs.StringVar(&revoke, "revoke", "", "refuse the credentials of this .creds file from now on (see docs/security.md)")
	fs.BoolVar(&revokeAll, "revoke-all", false, "refuse every credential issued until now (then make new ones)")
	fs.BoolVar(&initKeys, "init", false, "make the keys in --data-dir if missing, and write admin.creds, "+natsAuthConf+" (the --nats-config block) and the HTTP API's token key and admin token there")
	return cmd
}

// revokeCreds adds the user of the credentials file path (or every user,
// with all) to the account's revocations, and rewrites the server block.
// The servers refuse them once they load the new account JWT: an embedded
// one within seconds (followRevocations), an external one at a reload
// with the new block.
func (a *app) revokeCreds(keys *natsauth.Keys, dataDir, path string, all bool) error {
	what := "every credential issued until now"
	if all {
		keys.RevokeAll()
	} else {
		c, err := natsauth.ReadCreds(path)
		if err != nil {
			return err
		}
		pub, err := c.PublicKey()
		if err != nil {
			return err
		}
		keys.Revoke(pub)
		what = fmt.Sprintf("%s %s (user %s)", c.Role, c.Name, pub)
	}
	if err := keys.Save(dataDir); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dataDir, natsAuthConf)); err == nil {
		if err := writeServerConfig(keys, dataDir); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stderr, "revoked %s. A running ingo up or ingo backend --embedded-nats of this data directory refuses it within seconds; an external cluster once its nodes have the output of 'ingo creds --nats-config' (or %s) and are reloaded\n",
		what, filepath.Join(dataDir, natsAuthConf))
	return nil
}

// writeServerConfig writes the server block to dataDir/natsAuthConf, and
// the keys with the operator JWT it names, so that the next block names
// the same one (a server reloads a new block only then).
func writeServerConfig(keys *natsauth.Keys, dataDir string) error {
	adoptOperator(keys, dataDir)
	text, err := keys.ServerConfig()
	if err != nil {
		return err
	}
	if err := keys.Save(dataDir); err != nil {
		return err
	}
	path := filepath.Join(dataDir, natsAuthConf)
	if err := os.WriteFile(path+".tmp", []byte(text), 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// natsAuthConf is the file --init writes for a NATS server to include.
const natsAuthConf = "nats-auth.conf"

// initKeys prepares a data directory for an external NATS server on the
// same host (docker-compose.yml): the keys, admin.creds, and the server's
// block, which holds public keys only and so may be read by anybody.
func (a *app) initKeys(dataDir string) error {
	keys, err := a.loadEmbeddedKeys(dataDir)
	if err != nil {
		return err
	}
	// The HTTP API's token key and an admin token beside the NATS keys,
	// so that an API given this directory read-only checks tokens.
	if err := a.writeAPIToken(dataDir); err != nil {
		return err
	}
	if err := writeServerConfig(keys, dataDir); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "keys, admin credentials and %s are in %s\n", natsAuthConf, dataDir)
	return nil
}

// loadEmbeddedKeys reads the installation's keys from dataDir, making them
// on the first start, and writes admin.creds beside them when missing, so
// that the CLI on this machine finds it.
func (a *app) loadEmbeddedKeys(dataDir string) (*natsauth.Keys, error) {
	keys, created, err := natsauth.LoadOrCreate(dataDir)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	if created {
		a.log.Info("made the installation's NATS keys", "file", filepath.Join(dataDir, natsauth.KeysFile))
	}
	admin := filepath.Join(dataDir, natsauth.AdminCredsFile)
	if c, err := natsauth.ReadCreds(admin); err == nil && (keys.Revoked(c) || c.Outdated()) {
		// After a revocation, or an upgrade that changed what an admin
		// may do, the CLI on this machine needs new ones.
		if err := os.Remove(admin); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(admin); errors.Is(err, fs.ErrNotExist) {
		c, err := keys.Mint(natsauth.RoleAdmin, "admin", a.cfg.Prefix)
		if err != nil {
			return nil, err
		}
		if err := c.WriteFile(admin); err != nil {
			return nil, err
		}
		a.log.Info("wrote admin credentials for the CLI", "file", admin)
	}
	return keys, nil
}

// clientCreds are the credentials of the CLI's own connections: nats.creds
// (--creds, INGO_NATS_CREDS); or else the admin.creds of the default data
// directory (ingo up made it); or else an admin signed with the keys there;
// or else none.
func (a *app) clientCreds() (*natsauth.Credentials, error) {
	path := a.cfg.NATS.Creds
	if path == "" {
		def := filepath.Join(config.DefaultDataDir(), natsauth.AdminCredsFile)
		if _, err := os.Stat(def); err != nil {
			if k := a.localKeys(); k != nil {
				return k.Mint(natsauth.RoleAdmin, "cli", a.cfg.Prefix)
			}
			return nil, nil
		}
		path = def
	}
	c, err := natsauth.ReadCreds(path)
	if err != nil {
		return nil, fmt.Errorf("%w (--creds / INGO_NATS_CREDS)", err)
	}
	if c.Outdated() {
		return nil, fmt.Errorf("the NATS credentials %s (%s %s) were made by an earlier ingo and do not have the permissions of this one (protocol %d keeps task bundles under each client's own subjects): make new ones with 'ingo creds --role %s --name %s' where the installation's keys are",
			path, c.Role, c.Name, messages.ProtocolVersion, c.Role, c.Name)
	}
	return c, nil
}

// credsFor are the credentials a component of role runs with. Beside an
// embedded server (ingo up, backend --embedded-nats), or without --creds on
// the machine whose default data directory holds the keys, they are signed
// on the spot; otherwise they are --creds, which must be of that role.
// name is the identity wanted ("" takes the file's); an admin's file may
// have any name, since an admin's name binds nothing (it may use any
// client id), so that `ingo api --creds` takes whichever an operator made.
func (a *app) credsFor(role natsauth.Role, name string) (*natsauth.Credentials, error) {
	if a.cfg.NATS.Creds == "" {
		// Whoever can read the keys may be anybody: the same user on the
		// same machine as `ingo backend --embedded-nats` needs no file.
		a.localKeys()
	}
	if a.keys != nil {
		if name == "" {
			name = string(role)
		}
		return a.keys.Mint(role, name, a.cfg.Prefix)
	}
	c, err := a.clientCreds()
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("no NATS credentials: pass --creds FILE (INGO_NATS_CREDS), made by 'ingo creds --role %s --name NAME' where the installation's keys are", role)
	}
	if c.Role != role {
		return nil, fmt.Errorf("the NATS credentials are of role %s (name %s), this needs role %s: make some with 'ingo creds --role %s --name NAME'",
			c.Role, c.Name, role, role)
	}
	if name != "" && c.Name != name && role != natsauth.RoleAdmin {
		return nil, fmt.Errorf("the NATS credentials are for %s %q, but the settings name it %q: drop the setting, or use credentials of that name", role, c.Name, name)
	}
	if !strings.EqualFold(c.Prefix, a.cfg.Prefix) {
		return nil, fmt.Errorf("the NATS credentials are for subject prefix %q, the settings say %q", c.Prefix, a.cfg.Prefix)
	}
	return c, nil
}

// localKeys are the installation's keys beside an embedded server, or
// else those of the default data directory when this user can read them
// (read once); nil when there are none.
func (a *app) localKeys() *natsauth.Keys {
	if a.keys == nil {
		if k, err := natsauth.Load(config.DefaultDataDir()); err == nil {
			a.keys = k
		}
	}
	return a.keys
}

// adoptOperator hands the keys the operator JWT of dataDir's server
// block, when there is one: keys of an earlier version keep none, and
// the servers run with that block's.
func adoptOperator(keys *natsauth.Keys, dataDir string) {
	data, err := os.ReadFile(filepath.Join(dataDir, natsAuthConf))
	if err != nil {
		return
	}
	for line := range strings.Lines(string(data)) {
		if token, ok := strings.CutPrefix(strings.TrimSpace(line), "operator: "); ok {
			keys.AdoptOperatorJWT(token)
			return
		}
	}
}
