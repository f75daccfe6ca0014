package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ingo-grader/ingo/internal/settings"
)

// Key is one setting: its name in files, its default, and what it means.
type Key struct {
	// Name is the dotted key ("agent.slots").
	Name string
	// Default has the Go type of the setting: string, bool, int, int64,
	// float64, time.Duration, settings.ByteSize or []string.
	Default any
	Help    string
}

// Env is the environment variable of the key.
func (k Key) Env() string { return EnvName(k.Name) }

// EnvName turns a key into its environment variable: agent.default-limits.time
// is INGO_AGENT_DEFAULT_LIMITS_TIME.
func EnvName(key string) string {
	return "INGO_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// EnvConfig names the configuration file when --config is not given.
const EnvConfig = "INGO_CONFIG"

// Validator is a settings struct's check of what its tags cannot say
// (values that depend on each other, URLs); Load calls it after the tag
// checks, and its errors should name keys.
type Validator interface {
	Validate() error
}

// Schema is the settings of a program: T is a struct of the components'
// configurations (see package settings for its tags), and defaults makes
// the value with nothing configured, from the components' own defaults.
type Schema[T any] struct {
	defaults func() T
	keys     []Key // in declaration order
}

// NewSchema reads T's declaration; it panics on a declaration error (a
// field without a key tag, a type no key can have), which is a bug that any
// test loading the schema finds.
func NewSchema[T any](defaults func() T) *Schema[T] {
	d := defaults()
	s := &Schema[T]{defaults: defaults}
	for _, f := range settings.MustFields(&d) {
		s.keys = append(s.keys, Key{Name: f.Key, Default: f.Default(), Help: f.Help})
	}
	return s
}

// Defaults returns the settings when nothing is configured.
func (s *Schema[T]) Defaults() *T {
	d := s.defaults()
	return &d
}

// Keys returns every setting, sorted by name.
func (s *Schema[T]) Keys() []Key {
	out := append([]Key(nil), s.keys...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the key called name.
func (s *Schema[T]) Lookup(name string) (Key, bool) {
	for _, k := range s.keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// isSection reports whether name is a proper prefix of some key.
func (s *Schema[T]) isSection(name string) bool {
	for _, k := range s.keys {
		if strings.HasPrefix(k.Name, name+".") {
			return true
		}
	}
	return false
}

// fields lists the settings of *v, to set and check them.
func fields[T any](v *T) map[string]settings.Field {
	out := map[string]settings.Field{}
	for _, f := range settings.MustFields(v) {
		out[f.Key] = f
	}
	return out
}

// DefaultDataDir is where ingo up keeps its state: $XDG_DATA_HOME/ingo, or
// ~/.local/share/ingo. The CLI finds its credentials there.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "ingo")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "ingo")
	}
	return "ingo-data"
}

// DefaultCacheDir is a folder named name in the user's cache directory, or
// in the temporary directory for a user without a home (a service account
// in a container).
func DefaultCacheDir(name ...string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(append([]string{dir, "ingo"}, name...)...)
}

func (s *Schema[T]) mustLookup(name string) Key {
	k, ok := s.Lookup(name)
	if !ok {
		panic(fmt.Sprintf("config: no key %q", name))
	}
	return k
}
