package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
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
// environment variables, the file and the defaults, and checks them.
func Load(src Source) (*Config, error) {
	v := viper.New()
	for _, k := range keys {
		v.SetDefault(k.Name, k.Default)
		// An explicit binding per key: AutomaticEnv alone would miss
		// keys that appear nowhere else (spf13/viper#761).
		if err := v.BindEnv(k.Name, k.Env()); err != nil {
			return nil, fmt.Errorf("config: bind %s: %w", k.Env(), err)
		}
	}

	file := src.File
	if file == "" {
		file = os.Getenv(EnvConfig)
	}
	if file != "" {
		settings, err := readFile(file)
		if err != nil {
			return nil, err
		}
		if err := v.MergeConfigMap(settings); err != nil {
			return nil, fmt.Errorf("config file %s: %w", file, err)
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
			return nil, fmt.Errorf("config: bind flags: %w", err)
		}
	}

	if err := applySet(v, src); err != nil {
		return nil, err
	}

	var (
		c  Config
		md mapstructure.Metadata
	)
	err := v.Unmarshal(&c, func(dc *mapstructure.DecoderConfig) {
		dc.DecodeHook = decodeHook()
		// A key with no field is a bug in this package; unknown keys from
		// files were refused by readFile already.
		dc.ErrorUnused = true
		dc.Metadata = &md
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where(file), err)
	}
	// A field with no key is a bug too (File, tagged "-", is not a key).
	if unset := slices.DeleteFunc(md.Unset, func(f string) bool { return f == "-" }); len(unset) > 0 {
		return nil, fmt.Errorf("config: fields without a key: %v", unset)
	}
	c.File = file
	if err := c.normalize(); err != nil {
		return nil, fmt.Errorf("%s: %w", where(file), err)
	}
	return &c, nil
}

// Defaults returns the settings when nothing is configured: what Load gives
// with no file, no flags and no INGO_* variables.
func Defaults() *Config {
	v := viper.New()
	for _, k := range keys {
		v.SetDefault(k.Name, k.Default)
	}
	var c Config
	if err := v.Unmarshal(&c, func(dc *mapstructure.DecoderConfig) { dc.DecodeHook = decodeHook() }); err != nil {
		panic(fmt.Sprintf("config: the defaults do not decode: %v", err))
	}
	return &c
}

// applySet gives v the --set pairs, checking that each names a key.
func applySet(v *viper.Viper, src Source) error {
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
		if _, known := Lookup(name); !known {
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
