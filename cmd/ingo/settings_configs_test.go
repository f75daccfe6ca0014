package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/internal/settings"
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
			_, file, err := schema.Load(config.Source{File: path})
			if err != nil {
				t.Fatal(err)
			}
			if file != path {
				t.Errorf("file = %q, want %q", file, path)
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
			c, _, err := schema.Load(config.Source{File: path})
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

// TestDocs_ListEveryKey keeps docs/configuration.md in step with the
// declarations: every key has a row, with its variable and the default the
// code has (defaults that depend on the machine excepted).
func TestDocs_ListEveryKey(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for line := range strings.Lines(string(doc)) {
		cells := strings.Split(strings.TrimSpace(line), " | ")
		if len(cells) >= 4 && strings.HasPrefix(cells[0], "| `") {
			rows[strings.Trim(cells[0], "| `")] = cells
		}
	}
	machine := map[string]bool{"agent.slots": true, "agent.cache-dir": true, "backend.data-dir": true, "up.data-dir": true}
	for _, k := range schema.Keys() {
		row, ok := rows[k.Name]
		if !ok {
			t.Errorf("docs/configuration.md has no row for `%s`", k.Name)
			continue
		}
		if row[1] != "`"+k.Env()+"`" {
			t.Errorf("%s: variable %s, want `%s`", k.Name, row[1], k.Env())
		}
		if !machine[k.Name] && !sameDefault(k.Default, row[2]) {
			t.Errorf("%s: documented default %s, the code's is %v", k.Name, row[2], k.Default)
		}
	}
	// And every row is a key: a removed or misspelt one would send
	// operators to a setting that is refused as unknown.
	for name, row := range rows {
		if _, ok := schema.Lookup(name); !ok && strings.HasPrefix(row[1], "`INGO_") {
			t.Errorf("docs/configuration.md has a row for `%s`, which is no key", name)
		}
	}
}

// sameDefault compares a key's default with how the docs write it:
// "empty", `value`, or `a`, `b` for a list.
func sameDefault(def any, cell string) bool {
	var vals []string
	for _, part := range strings.Split(cell, ", ") {
		vals = append(vals, strings.Trim(part, "`[]"))
	}
	text := strings.Join(vals, ",")
	switch d := def.(type) {
	case string:
		return (d == "" && cell == "empty") || text == d
	case []string:
		return text == strings.Join(d, ",") || (len(d) == 0 && cell == "empty")
	case time.Duration:
		v, err := time.ParseDuration(text)
		return err == nil && v == d
	case settings.ByteSize:
		v, err := settings.ParseByteSize(text)
		return err == nil && v == d
	default:
		return text == fmt.Sprint(d)
	}
}

// TestConfigs_BackendExampleStatesTheDefaults: configs/backend.yaml says
// its values are the defaults (but embedded-nats and data-dir); one that is not (it
// once had durable: false, with a comment from before durability) turns
// a setting off for whoever copies the file.
func TestConfigs_BackendExampleStatesTheDefaults(t *testing.T) {
	isolate(t)
	example, _, err := schema.Load(config.Source{File: filepath.Join("..", "..", "configs", "backend.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	defaults, _, err := schema.Load(config.Source{})
	if err != nil {
		t.Fatal(err)
	}
	example.Backend.EmbeddedNATS = defaults.Backend.EmbeddedNATS
	example.Backend.DataDir = defaults.Backend.DataDir
	if !reflect.DeepEqual(example.Backend, defaults.Backend) || !reflect.DeepEqual(example.NATS, defaults.NATS) {
		t.Errorf("configs/backend.yaml differs from the defaults:\nbackend %+v\ndefault %+v\nnats %+v\ndefault %+v",
			example.Backend, defaults.Backend, example.NATS, defaults.NATS)
	}
}
