package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestConfigs_ExamplesLoad loads every ingo config file in configs/ (its
// subfolders hold other programs' files: nats/ for nats-server, checked in
// internal/testutil).
func TestConfigs_ExamplesLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "configs", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("configs/ holds %d files, want at least backend.yaml, agent.yaml, client.yaml", len(files))
	}
	files = slices.DeleteFunc(files, func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && st.IsDir()
	})
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			isolate(t)
			if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
				t.Fatalf("configs/ should hold YAML files only, not %s", path)
			}
			c, err := Load(Source{File: path})
			if err != nil {
				t.Fatal(err)
			}
			if c.File != path {
				t.Errorf("File = %q, want %q", c.File, path)
			}
		})
	}
}

// TestConfigs_ComposeLoad loads the settings of docker-compose.yml's ingo
// services, configs/compose/*.yaml (nats.conf beside them is nats-server's,
// run by tests/compose), which all reach NATS by the service's name.
func TestConfigs_ComposeLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "configs", "compose", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, path := range files {
		names = append(names, filepath.Base(path))
		t.Run(filepath.Base(path), func(t *testing.T) {
			isolate(t)
			c, err := Load(Source{File: path})
			if err != nil {
				t.Fatal(err)
			}
			if c.NATS.URL != "nats://nats:4222" {
				t.Errorf("nats.url = %q, want the compose service nats://nats:4222", c.NATS.URL)
			}
		})
	}
	for _, want := range []string{"agent.yaml", "api.yaml", "backend.yaml"} {
		if !slices.Contains(names, want) {
			t.Errorf("configs/compose/ has no %s (docker-compose.yml mounts it)", want)
		}
	}
}

// TestDocs_ListEveryKey keeps docs/configuration.md in step with keys.go.
func TestDocs_ListEveryKey(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.Contains(string(doc), "`"+k.Name+"`") {
			t.Errorf("docs/configuration.md does not document `%s`", k.Name)
		}
		if !strings.Contains(string(doc), k.Env()) {
			t.Errorf("docs/configuration.md does not mention %s", k.Env())
		}
	}
}
