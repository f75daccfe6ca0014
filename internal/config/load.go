package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/ingo-grader/ingo/internal/settings"
)

// Source says where Load finds settings besides the environment and the
// defaults.
type Source struct {
	// File is the YAML file to read; "" means $INGO_CONFIG, and no file
	// when that is unset too.
	File string
	// Flags holds the parsed command line; the flags made by AddFlag (and
	// only those) override their keys when they were given.
	Flags *pflag.FlagSet
	// Set holds KEY=VALUE pairs from --set: any key, with a flag's
	// precedence. A dedicated flag given for the same key wins.
	Set []string
}

// Load reads the settings, highest first, from the flags, the INGO_*
// environment variables, the file and the defaults, and checks them: each
// field's check tag, then T's Validate when it has one. It also returns the
// file it read ("" for none).
func (s *Schema[T]) Load(src Source) (*T, string, error) {
	v := viper.New()
	for _, k := range s.keys {
		// An explicit binding per key: AutomaticEnv alone would miss
		// keys that appear nowhere else (spf13/viper#761).
		if err := v.BindEnv(k.Name, k.Env()); err != nil {
			return nil, "", fmt.Errorf("config: bind %s: %w", k.Env(), err)
		}
	}

	file := src.File
	if file == "" {
		file = os.Getenv(EnvConfig)
	}
	if file != "" {
		m, err := s.readFile(file)
		if err != nil {
			return nil, file, err
		}
		if err := v.MergeConfigMap(m); err != nil {
			return nil, file, fmt.Errorf("config file %s: %w", file, err)
		}
	}

	if src.Flags != nil {
		var errs []error
		src.Flags.VisitAll(func(f *pflag.Flag) {
			if key := flagKey(f); key != "" {
				errs = append(errs, v.BindPFlag(key, f))
			}
		})
		if err := errors.Join(errs...); err != nil {
			return nil, file, fmt.Errorf("config: bind flags: %w", err)
		}
	}
	if err := s.applySet(v, src); err != nil {
		return nil, file, err
	}

	// The defaults are the components' own; viper only says what was
	// given, and where from, over them.
	c := s.defaults()
	fs := fields(&c)
	var errs []error
	for _, k := range s.keys {
		if !v.IsSet(k.Name) {
			continue
		}
		if err := fs[k.Name].Set(v.Get(k.Name)); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", k.Name, k.Env(), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, file, fmt.Errorf("%s: %w", where(file), err)
	}
	if err := s.check(&c); err != nil {
		return nil, file, fmt.Errorf("%s: %w", where(file), err)
	}
	return &c, file, nil
}

// check runs the tag checks, naming each key with its variable, then T's
// Validate.
func (s *Schema[T]) check(c *T) error {
	var errs []error
	for _, p := range settings.Problems(settings.Check(c)) {
		errs = append(errs, fmt.Errorf("%s (%s): %s", p.Key, EnvName(p.Key), p.Msg))
	}
	if val, ok := any(c).(Validator); ok {
		if err := val.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// applySet gives v the --set pairs, checking that each names a key.
func (s *Schema[T]) applySet(v *viper.Viper, src Source) error {
	changed := map[string]bool{}
	if src.Flags != nil {
		src.Flags.Visit(func(f *pflag.Flag) {
			if key := flagKey(f); key != "" {
				changed[key] = true
			}
		})
	}
	for _, kv := range src.Set {
		name, value, ok := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return fmt.Errorf("--set %q: want KEY=VALUE, e.g. --set backend.max-attempts=3", kv)
		}
		if _, known := s.Lookup(name); !known {
			return fmt.Errorf("--set %s: unknown setting %q (docs/configuration.md lists them)", kv, name)
		}
		if !changed[name] {
			v.Set(name, value)
		}
	}
	return nil
}

func where(file string) string {
	if file == "" {
		return "settings (flags, INGO_* variables)"
	}
	return "settings (flags, INGO_* variables, " + file + ")"
}
