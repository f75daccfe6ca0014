package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/internal/logging"
	"github.com/ingo-grader/ingo/internal/settings"
	"github.com/ingo-grader/ingo/messages"
)

// Validate checks what the tags cannot: values that depend on each other,
// URLs and lists. Each complaint names its key and variable.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s (%s): %s", key, config.EnvName(key), fmt.Sprintf(format, args...)))
	}
	for _, u := range strings.Split(c.NATS.URL, ",") {
		if err := checkNATSURL(strings.TrimSpace(u)); err != nil {
			bad("nats.url", "%v", err)
		}
	}
	if _, err := logging.ParseLevel(c.Log.Level); err != nil {
		bad("log.level", "%v", err)
	}
	if _, err := logging.New(nil, "info", c.Log.Format); err != nil {
		bad("log.format", "%v", err)
	}
	if r := c.Backend.Replicas; r != 1 && r != 3 && r != 5 {
		bad("backend.replicas", "must be 1, 3 or 5 (JetStream replicates on an odd number of servers), not %d", r)
	}
	// What only the backend knows to check (the tags were checked): its
	// lists of name=value, refused here before any command starts
	// anything (an embedded NATS server, its keys written) rather than
	// by the backend once it runs.
	for _, p := range settings.Problems(c.Backend.Config.Check()) {
		switch p.Key {
		case "course-weights", "frontend-min-priorities", "max-ssh-debug-per-clients":
			bad("backend."+p.Key, "%s", p.Msg)
		}
	}
	if c.Backend.EmbeddedNATS && c.Backend.DataDir == "" {
		bad("backend.data-dir", "an embedded NATS server needs a data directory")
	}
	for _, e := range c.Agent.Environments {
		if typ, name, ok := strings.Cut(e, "/"); !ok || typ == "" || name == "" || strings.Contains(name, "/") {
			bad("agent.environments", "%q: write each environment as type/name, such as docker/default", e)
		}
	}
	if err := c.Agent.SSH.Validate(); err != nil {
		bad("agent.ssh.port-min", "%v", err)
	}
	errs = append(errs, defaultsUnderMax(c.Agent.DefaultLimits, c.Agent.MaxLimits)...)
	return errors.Join(errs...)
}

func checkNATSURL(s string) error {
	if s == "" {
		return errors.New("empty URL: use nats://HOST:PORT")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", s, err)
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return fmt.Errorf("%q: use a URL such as nats://127.0.0.1:4222", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host: use a URL such as nats://127.0.0.1:4222", s)
	}
	return nil
}

// defaultsUnderMax refuses defaults above the maximum (0 means no
// maximum), which would make every job without limits ask for too much.
func defaultsUnderMax(def, limit messages.Limits) []error {
	var errs []error
	over := func(name string, d, m float64) {
		if m > 0 && d > m {
			errs = append(errs, fmt.Errorf("agent.default-limits.%s (%v) is above agent.max-limits.%s (%v)", name, d, name, m))
		}
	}
	over("time", def.Time, limit.Time)
	over("hard-time", def.HardTime, limit.HardTime)
	over("memory", float64(def.Memory), float64(limit.Memory))
	over("processes", float64(def.Processes), float64(limit.Processes))
	over("output", float64(def.Output), float64(limit.Output))
	over("disk", float64(def.Disk), float64(limit.Disk))
	return errs
}
