package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ingo-grader/ingo/internal/config"
)

// TestDocs_FlagsTable keeps the table "Flags" of docs/configuration.md in
// step with the commands: every flag that sets a key has a row naming
// that key and the command (or "all" for the root's), and every row names
// a flag that exists on those commands with that key. Before, the
// table lacked the flags of ingo up, ingo api, ingo token and ingo
// inginious-bridge, so an operator looking for the flag of up.data-dir
// or inginious.listen did not find it.
func TestDocs_FlagsTable(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		commands []string
		key      string
	}
	rows := map[string][]row{} // by flag name
	_, table, _ := strings.Cut(string(doc), "## Flags\n")
	table, _, _ = strings.Cut(table, "\n## ")
	for line := range strings.Lines(table) {
		cells := strings.Split(strings.TrimSpace(line), " | ")
		if len(cells) != 3 || !strings.HasPrefix(cells[0], "| `--") {
			continue
		}
		key := strings.TrimSuffix(cells[2], " |")
		if strings.Count(key, "`") != 2 || !strings.HasPrefix(key, "`") || !strings.HasSuffix(key, "`") {
			continue // --config, --set: not one key
		}
		name := strings.Fields(strings.Trim(cells[0], "| `-"))[0]
		rows[name] = append(rows[name], row{strings.Split(cells[1], ", "), strings.Trim(key, "`")})
	}
	documented := func(cmd, name, key string) bool {
		for _, r := range rows[name] {
			if r.key == key && (slices.Contains(r.commands, cmd) || slices.Contains(r.commands, "all")) {
				return true
			}
		}
		return false
	}
	root := newRootCmd(&app{})
	have := map[string]map[string]string{} // command -> flag -> key
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		name := c.Name()
		if c == root {
			name = "all"
		}
		have[name] = map[string]string{}
		flags := c.LocalNonPersistentFlags()
		if c == root {
			flags = c.PersistentFlags()
		}
		flags.VisitAll(func(f *pflag.Flag) {
			key := config.FlagKey(f)
			if key == "" {
				return
			}
			have[name][f.Name] = key
			if !documented(name, f.Name, key) {
				t.Errorf("docs/configuration.md, Flags: no row for --%s of %q (key %s)", f.Name, name, key)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for name, rs := range rows {
		for _, r := range rs {
			for _, cmd := range r.commands {
				if have[cmd] == nil {
					t.Errorf("docs/configuration.md, Flags: --%s names command %q, which does not exist", name, cmd)
				} else if got := have[cmd][name]; got != r.key {
					t.Errorf("docs/configuration.md, Flags: --%s of %q sets %s, the docs say %s", name, cmd, got, r.key)
				}
			}
		}
	}
}

// TestDocs_IDsFromCredentials: an agent's id and the bridge's client id
// are the name in their credentials when these are given, and must be;
// the help (ingo agent --help) and docs/configuration.md say so. Before,
// both said only "empty: the host name", and an operator who set the id
// to the host name beside credentials of another name was refused.
func TestDocs_IDsFromCredentials(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"agent.id", "inginious.client-id"} {
		k, ok := schema.Lookup(key)
		if !ok {
			t.Fatalf("no key %s", key)
		}
		if !strings.Contains(k.Help, "credentials") {
			t.Errorf("the help of %s does not say that it is the credentials' name: %q", key, k.Help)
		}
		var row string
		for line := range strings.Lines(string(doc)) {
			if strings.HasPrefix(line, "| `"+key+"` |") {
				row = line
			}
		}
		if !strings.Contains(row, "credentials") {
			t.Errorf("docs/configuration.md does not say that %s is the credentials' name: %q", key, row)
		}
	}
	// The example an operator copies for an agent's host says it too,
	// and has the settings such a host needs.
	example, err := os.ReadFile(filepath.Join("..", "..", "configs", "agent.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, idComment, _ := strings.Cut(string(example), "# Identity.")
	idComment, _, _ = strings.Cut(idComment, "id:")
	if !strings.Contains(idComment, "nats.creds") {
		t.Errorf("configs/agent.yaml: the comment of agent.id does not say that it is the credentials' name: %q", idComment)
	}
	for _, key := range []string{"\n  creds:", "\n  tls-ca:"} {
		if !strings.Contains(string(example), key) {
			t.Errorf("configs/agent.yaml has no nats%s", strings.TrimPrefix(key, "\n "))
		}
	}
}

// TestDocs_MetricsWhere: the table at the top of docs/metrics.md, where
// each component serves its metrics, names every *.metrics-addr key.
// Before, it had no row for the bridge's, so an operator scraping the
// bridge found no address to scrape.
func TestDocs_MetricsWhere(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	table, _, _ := strings.Cut(string(doc), "\n\n- ")
	for _, k := range schema.Keys() {
		if strings.HasSuffix(k.Name, "metrics-addr") && !strings.Contains(table, "| `"+k.Env()+"`") && !strings.Contains(table, "`"+k.Name+"` (") {
			t.Errorf("docs/metrics.md: the table of where metrics are served has no row for %s", k.Name)
		}
	}
}
