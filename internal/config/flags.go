package config

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/ingo-grader/ingo/internal/settings"
)

// flagAnnotation marks a flag as the command-line form of a key; Load binds
// every flag that carries it.
const flagAnnotation = "ingo-config-key"

// AddFlag defines on fs the flag name (with an optional one-letter
// shorthand) for key, typed and defaulted like the key, with the key's help
// text and environment variable as usage unless usage is given. The flag
// overrides the key only when it is given on the command line.
func (s *Schema[T]) AddFlag(fs *pflag.FlagSet, key, name, shorthand, usage string) {
	k := s.mustLookup(key)
	if usage == "" {
		usage = k.Help
	}
	usage += " (" + k.Env() + ")"
	switch d := k.Default.(type) {
	case string:
		fs.StringP(name, shorthand, d, usage)
	case bool:
		fs.BoolP(name, shorthand, d, usage)
	case int:
		fs.IntP(name, shorthand, d, usage)
	case int64:
		fs.Int64P(name, shorthand, d, usage)
	case float64:
		fs.Float64P(name, shorthand, d, usage)
	case time.Duration:
		fs.DurationP(name, shorthand, d, usage)
	case []string:
		fs.StringSliceP(name, shorthand, d, usage)
	case settings.ByteSize:
		fs.VarP(&d, name, shorthand, usage)
	default:
		panic(fmt.Sprintf("config.AddFlag: key %q has a default of type %T", key, d))
	}
	if err := fs.SetAnnotation(name, flagAnnotation, []string{key}); err != nil {
		panic(err) // the flag was defined just above
	}
}

// flagKey returns the key a flag was made for by AddFlag, or "".
func flagKey(f *pflag.Flag) string {
	if v := f.Annotations[flagAnnotation]; len(v) == 1 {
		return v[0]
	}
	return ""
}

// FlagKey returns the key a flag was made for by AddFlag, or "": for
// tests that check the documentation of the flags against the keys.
func FlagKey(f *pflag.Flag) string { return flagKey(f) }
