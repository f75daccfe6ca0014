package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

type testSection struct {
	Every time.Duration `key:"every" check:"positive" help:"a period"`
	Size  int64         `key:"size" unit:"bytes" help:"a size"`
}

type testSettings struct {
	Name    string      `key:"name" check:"nonempty" help:"a name"`
	Slots   int         `key:"slots" check:"min=1" help:"slots"`
	Section testSection `key:"section"`
}

// Validate makes "forbidden" a name only Validate refuses.
func (s *testSettings) Validate() error {
	if s.Name == "forbidden" {
		return errors.New("name (TEST): forbidden")
	}
	return nil
}

var testSchema = NewSchema(func() testSettings {
	return testSettings{Name: "n", Slots: 2, Section: testSection{Every: time.Second, Size: 1 << 20}}
})

func blank(t *testing.T) {
	t.Helper()
	t.Setenv(EnvConfig, "")
	for _, k := range testSchema.Keys() {
		t.Setenv(k.Env(), "")
	}
}

func TestSchema_KeysFromTheDeclaration(t *testing.T) {
	t.Parallel()
	var names []string
	for _, k := range testSchema.Keys() {
		names = append(names, k.Name)
	}
	if got := strings.Join(names, " "); got != "name section.every section.size slots" {
		t.Errorf("keys %q", got)
	}
	if k, _ := testSchema.Lookup("section.size"); k.Default.(interface{ String() string }).String() != "1MiB" || k.Env() != "INGO_SECTION_SIZE" {
		t.Errorf("section.size: %+v", k)
	}
}

// TestSchema_Precedence: flag > --set > variable > file > default, with
// defaults from the declaration's own function.
func TestSchema_Precedence(t *testing.T) {
	blank(t)
	path := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(path, []byte("slots: 3\nsection:\n  every: 3s\n  size: 2MiB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func(src Source) *testSettings {
		t.Helper()
		c, _, err := testSchema.Load(src)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := load(Source{}); c.Slots != 2 || c.Section.Every != time.Second {
		t.Errorf("defaults: %+v", c)
	}
	if c := load(Source{File: path}); c.Slots != 3 || c.Section.Every != 3*time.Second || c.Section.Size != 2<<20 {
		t.Errorf("file: %+v", c)
	}
	t.Setenv("INGO_SLOTS", "4")
	if c := load(Source{File: path}); c.Slots != 4 || c.Section.Every != 3*time.Second {
		t.Errorf("variable over file: %+v", c)
	}
	if c := load(Source{File: path, Set: []string{"slots=5"}}); c.Slots != 5 {
		t.Errorf("--set over variable: %+v", c)
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	testSchema.AddFlag(fs, "slots", "slots", "", "")
	if err := fs.Parse([]string{"--slots=6"}); err != nil {
		t.Fatal(err)
	}
	if c := load(Source{File: path, Flags: fs, Set: []string{"slots=5"}}); c.Slots != 6 {
		t.Errorf("flag over --set: %+v", c)
	}
}

func TestSchema_Refusals(t *testing.T) {
	cases := []struct {
		name string
		src  Source
		env  map[string]string
		want []string
	}{
		{"check tag, named with its variable", Source{}, map[string]string{"INGO_SLOTS": "0"}, []string{"slots (INGO_SLOTS): must be at least 1, not 0"}},
		{"bad value", Source{}, map[string]string{"INGO_SECTION_EVERY": "10"}, []string{"section.every (INGO_SECTION_EVERY)", `"10s"`}},
		{"Validate", Source{Set: []string{"name=forbidden"}}, nil, []string{"forbidden"}},
		{"unknown --set key", Source{Set: []string{"slot=1"}}, nil, []string{`unknown setting "slot"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blank(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, _, err := testSchema.Load(c.src)
			for _, w := range c.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want %q", err, w)
				}
			}
		})
	}
}

func TestNewSchema_PanicsOnAnUndeclaredField(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "has no key tag") {
			t.Errorf("recover() = %v, want a missing key tag", r)
		}
	}()
	NewSchema(func() struct{ A int } { return struct{ A int }{} })
}
