package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// shippedNodeConfig is configs/nats/node<k>.conf (k from 1 to 3), the file
// an operator gives a node of ingo's NATS cluster.
func shippedNodeConfig(k int) (string, error) {
	b, err := os.ReadFile(filepath.Join(repoRoot(), "configs", "nats", fmt.Sprintf("node%d.conf", k)))
	return string(b), err
}

// nodeSite is where a test runs a node that the shipped files place on
// hosts of their own: a loopback port pair, a store, certificate files.
type nodeSite struct {
	Name        string // server_name
	Port, CPort string // client and cluster (route) ports on 127.0.0.1
	Store       string // JetStream's store_dir
	Cert, Key   string // the node's certificate for its clients, and key
	// Its route certificate (tlsfiles.ClusterNode), key, and the
	// cluster's CA that its routes' peers must prove.
	RouteCert, RouteKey, RouteCA string
	// Routes are the other nodes' cluster ports. None makes one server
	// without a cluster block (JetStream refuses a cluster without
	// routes).
	Routes []string
}

// siteEdit is one change the shipped text must take. Each must find what
// it replaces exactly n times: a shipped file of another shape fails the
// tests instead of being run with half its settings left for three hosts.
type siteEdit struct {
	re   *regexp.Regexp
	n    int
	with func(nodeSite) string
}

var siteEdits = []siteEdit{
	{regexp.MustCompile(`(?m)^server_name: nats\d$`), 1, func(s nodeSite) string { return "server_name: " + s.Name }},
	{regexp.MustCompile(`(?m)^listen: 0\.0\.0\.0:4222$`), 1, func(s nodeSite) string { return "listen: 127.0.0.1:" + s.Port }},
	{regexp.MustCompile(`(?m)^  listen: 0\.0\.0\.0:6222$`), 1, func(s nodeSite) string { return "  listen: 127.0.0.1:" + s.CPort }},
	{regexp.MustCompile(`(?m)^  advertise: nats\d:6222$`), 1, func(s nodeSite) string { return "  advertise: 127.0.0.1:" + s.CPort }},
	{regexp.MustCompile(`(?m)^  store_dir: "/var/lib/nats/jetstream"$`), 1, func(s nodeSite) string { return "  store_dir: " + quoted(s.Store) }},
	{regexp.MustCompile(`"/etc/nats/tls-nats\d\.pem"`), 1, func(s nodeSite) string { return quoted(s.Cert) }},
	{regexp.MustCompile(`"/etc/nats/tls-nats\d\.key"`), 1, func(s nodeSite) string { return quoted(s.Key) }},
	{regexp.MustCompile(`"/etc/nats/tls-cluster-nats\d\.pem"`), 1, func(s nodeSite) string { return quoted(s.RouteCert) }},
	{regexp.MustCompile(`"/etc/nats/tls-cluster-nats\d\.key"`), 1, func(s nodeSite) string { return quoted(s.RouteKey) }},
	{regexp.MustCompile(`"/etc/nats/tls-cluster-ca\.pem"`), 1, func(s nodeSite) string { return quoted(s.RouteCA) }},
	{regexp.MustCompile(`(?m)^  routes: \[\n    nats-route://nats\d:6222\n    nats-route://nats\d:6222\n  \]$`), 1, func(s nodeSite) string {
		var b strings.Builder
		b.WriteString("  routes: [\n")
		for _, p := range s.Routes {
			fmt.Fprintf(&b, "    nats-route://127.0.0.1:%s\n", p)
		}
		b.WriteString("  ]")
		return b.String()
	}},
}

// clusterBlock is the shipped files' cluster block, up to its closing
// brace at the start of a line.
var clusterBlock = regexp.MustCompile(`(?ms)^cluster \{\n.*?^\}\n`)

// onLoopback makes a shipped node config (shippedNodeConfig) the config
// of site: the same file with the addresses, paths and routes of this
// machine, and nothing else changed. Its `include "nats-auth.conf"` is
// read beside the file written.
func onLoopback(shipped string, site nodeSite) (string, error) {
	text := shipped
	for _, e := range siteEdits {
		if got := len(e.re.FindAllStringIndex(text, -1)); got != e.n {
			return "", fmt.Errorf("the shipped node config has %d of %s, want %d", got, e.re, e.n)
		}
		with := e.with(site)
		text = e.re.ReplaceAllLiteralString(text, with)
	}
	if len(site.Routes) == 0 {
		if got := len(clusterBlock.FindAllStringIndex(text, -1)); got != 1 {
			return "", fmt.Errorf("the shipped node config has %d cluster blocks, want 1", got)
		}
		text = clusterBlock.ReplaceAllLiteralString(text, "")
	}
	return text, nil
}

// quoted is a path as a NATS config string.
func quoted(path string) string {
	if strings.ContainsAny(path, "\"\\\n") {
		panic(fmt.Sprintf("testutil: path %q cannot be quoted in a NATS config", path))
	}
	return `"` + path + `"`
}
