package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/internal/tlsfiles"
)

func newCertsCmd(a *app) *cobra.Command {
	var dataDir, name string
	var hosts []string
	var node bool
	cmd := &cobra.Command{
		Use:   "certs --host HOST [--host HOST...] [--name NAME] [--cluster-node] [--data-dir DIR]",
		Short: "Make a TLS certificate for the NATS server or the HTTP API",
		Long: `Sign a TLS server certificate for the hosts that clients connect to (DNS
names or IP addresses, as they appear in nats.url or the API's URL), with the
installation's own CA in --data-dir, made on first use: ` + tlsfiles.CAFile + ` (give it to
every client as nats.tls-ca) and ` + tlsfiles.CAKeyFile + ` (keep it here: it signs
certificates). Writes tls-NAME.pem and tls-NAME.key and never overwrites
them: remove them first to renew.

A node of a NATS cluster (configs/nats) has two: one for its clients, as
any NATS server, and with --cluster-node one for its routes to the other
nodes (tls-cluster-NAME.pem), signed by the cluster's own CA
(` + tlsfiles.ClusterCAFile + `), which signs nothing else: routes carry every message
past every permission, so no other certificate may open one.

Credentials keep anyone from forging ingo's messages; TLS keeps anyone on
the network path from reading them: students' files, task bundles with
their hidden tests, results, and the HTTP API's bearer tokens
(docs/security.md).`,
		Example: `  ingo certs --host grading.example.org --host 10.0.0.5
  ingo certs --name nats2 --host nats2                  # a cluster's node: for its clients
  ingo certs --name nats2 --host nats2 --cluster-node   # and for its routes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(hosts) == 0 {
				return &usageError{err: errors.New("--host is required: the name or address clients connect to"), command: cmd.CommandPath()}
			}
			dir, err := filepath.Abs(dataDir) // the printed settings must work from anywhere
			if err != nil {
				return err
			}
			use := tlsfiles.Server
			if node {
				use = tlsfiles.ClusterNode
			}
			got, err := tlsfiles.Issue(dir, name, hosts, use, time.Now())
			if err != nil {
				return err
			}
			if got.CAMade {
				fmt.Fprintf(a.stderr, "made a CA: %s (its key %s stays here)\n", got.CA, strings.TrimSuffix(got.CA, ".pem")+".key")
			}
			fmt.Fprintf(a.stderr, "wrote %s and %s for %s (and this machine's loopback), valid until %s.\n",
				got.Cert, got.Key, strings.Join(got.Hosts, ", "), got.NotAfter.Format(time.DateOnly))
			if node {
				fmt.Fprintf(a.stderr, `They are a route certificate: copy them to that node only, and %s
(never its key) to every node: the cluster block's tls of
configs/nats/node*.conf names them. The node's certificate for its
clients is another (ingo certs without --cluster-node).
`, got.CA)
				return nil
			}
			fmt.Fprintf(a.stderr, `The embedded NATS server (ingo up, ingo backend --embedded-nats):
  --set backend.nats-tls-cert=%s --set backend.nats-tls-key=%s
The HTTP API (ingo up, ingo api):
  --set http-tls-cert=%s --set http-tls-key=%s
Every other component (agents, frontends, the CLI), with a copy of %s:
  --set nats.tls-ca=%s   (INGO_NATS_TLS_CA)
`, got.Cert, got.Key, got.Cert, got.Key, tlsfiles.CAFile, got.CA)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&hosts, "host", nil, "a DNS name or IP address the certificate is for (repeatable)")
	fs.StringVar(&name, "name", "server", "the files' name: tls-NAME.pem and tls-NAME.key")
	fs.BoolVar(&node, "cluster-node", false, "a NATS cluster node's certificate for its routes, signed by the cluster's own CA")
	fs.StringVar(&dataDir, "data-dir", config.DefaultDataDir(), "the data directory holding the installation's CA")
	return cmd
}
