package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/internal/logging"
	"github.com/ingo-grader/ingo/messages"
)

// Runtimes an agent can use.
const (
	RuntimeDocker = "docker"
	RuntimeNoop   = "noop"
	// RuntimeFake is containers/fake, for tests: jobs do what their
	// "@fake" input says.
	RuntimeFake = "fake"
)

// normalize tidies lists and checks every value, naming the key and its
// variable in each complaint so that the fix is obvious wherever the value
// came from.
func (c *Config) normalize() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s (%s): %s", key, EnvName(key), fmt.Sprintf(format, args...)))
	}

	c.NATS.URL = strings.TrimSpace(c.NATS.URL)
	for _, u := range strings.Split(c.NATS.URL, ",") {
		if err := checkNATSURL(strings.TrimSpace(u)); err != nil {
			bad("nats.url", "%v", err)
		}
	}
	if err := messages.ValidateID(c.Prefix); err != nil {
		bad("prefix", "%v", err)
	}
	if _, err := logging.ParseLevel(c.Log.Level); err != nil {
		bad("log.level", "%v", err)
	}
	if _, err := logging.New(nil, "info", c.Log.Format); err != nil {
		bad("log.format", "%v", err)
	}

	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, "must be a positive duration such as \"1s\", not %v", d)
		}
	}
	atLeast1 := func(key string, n int) {
		if n < 1 {
			bad(key, "must be at least 1, not %d", n)
		}
	}

	if c.API.MaxBody < 1<<20 {
		bad("api.max-body", "must be at least 1MiB, not %v", c.API.MaxBody)
	}
	if c.API.JobMemory < 1<<20 {
		bad("api.job-memory", "must be at least 1MiB, not %v", c.API.JobMemory)
	}
	if c.API.UploadMemory < 1<<20 {
		bad("api.upload-memory", "must be at least 1MiB, not %v", c.API.UploadMemory)
	}
	errs = append(errs, checkLimits("api.frontend-max-limits", c.API.FrontendMaxLimits)...)
	if c.API.ClientID != "" {
		if err := messages.ValidateID(c.API.ClientID); err != nil {
			bad("api.client-id", "%v", err)
		}
	}

	b := &c.Backend
	positive("backend.heartbeat-interval", b.HeartbeatInterval)
	atLeast1("backend.heartbeat-misses", b.HeartbeatMisses)
	atLeast1("backend.max-attempts", b.MaxAttempts)
	positive("backend.start-timeout", b.StartTimeout)
	positive("backend.client-timeout", b.ClientTimeout)
	positive("backend.orphan-timeout", b.OrphanTimeout)
	positive("backend.result-retention", b.ResultRetention)
	positive("backend.result-resend", b.ResultResend)
	if b.TakeoverTimeout < time.Second {
		bad("backend.takeover-timeout", "must be at least 1s, not %v", b.TakeoverTimeout)
	}
	if b.Replicas != 1 && b.Replicas != 3 && b.Replicas != 5 {
		bad("backend.replicas", "must be 1, 3 or 5 (JetStream replicates on an odd number of servers), not %d", b.Replicas)
	}
	if b.EnvironmentGrace < 0 {
		bad("backend.environment-grace", "cannot be negative")
	}
	if b.DoneRetention < 0 {
		bad("backend.done-retention", "cannot be negative")
	}
	if b.DoneMemory < 0 {
		bad("backend.done-memory", "cannot be negative")
	}
	if b.EmbeddedNATS && b.DataDir == "" {
		bad("backend.data-dir", "an embedded NATS server needs a data directory")
	}

	a := &c.Agent
	if a.ID != "" {
		if err := messages.ValidateID(a.ID); err != nil {
			bad("agent.id", "%v", err)
		}
	}
	if a.Runtime != RuntimeDocker && a.Runtime != RuntimeNoop && a.Runtime != RuntimeFake {
		bad("agent.runtime", "%q is not a runtime: use %s, %s or %s", a.Runtime, RuntimeDocker, RuntimeNoop, RuntimeFake)
	}
	a.Environments = tidy(a.Environments)
	for _, e := range a.Environments {
		if typ, name, ok := strings.Cut(e, "/"); !ok || typ == "" || name == "" || strings.Contains(name, "/") {
			bad("agent.environments", "%q: write each environment as type/name, such as docker/default", e)
		}
	}
	atLeast1("agent.slots", a.Slots)
	positive("agent.heartbeat-interval", a.HeartbeatInterval)
	positive("agent.result-retry", a.ResultRetry)
	positive("agent.cleanup-interval", a.CleanupInterval)
	if a.ShutdownGrace < 0 {
		bad("agent.shutdown-grace", "cannot be negative")
	}
	if a.CacheDir == "" {
		bad("agent.cache-dir", "must name a directory")
	}
	if a.CacheSize <= 0 {
		bad("agent.cache-size", "must be positive, such as 1GiB")
	}
	if a.Docker.Network == "" {
		bad("agent.docker.network", "must name a Docker network, such as bridge")
	}
	if a.Docker.CPUs <= 0 {
		bad("agent.docker.cpus", "must be positive, such as 1 or 0.5, not %v", a.Docker.CPUs)
	}
	positive("agent.docker.api-timeout", a.Docker.APITimeout)
	if s := a.SSH; !(s.PortMin == 0 && s.PortMax == 0) && (s.PortMin < 1 || s.PortMax > 65535 || s.PortMin > s.PortMax) {
		bad("agent.ssh.port-min", "and agent.ssh.port-max must be a range of ports such as 64120 and 64130 (both 0: SSH off), not %d-%d", s.PortMin, s.PortMax)
	}
	if a.SSH.Listen == "" {
		bad("agent.ssh.listen", "must be an address such as 0.0.0.0")
	}
	positive("agent.ssh.login-timeout", a.SSH.LoginTimeout)
	positive("agent.ssh.max-session", a.SSH.MaxSession)
	positive("agent.ssh.handshake-timeout", a.SSH.HandshakeTimeout)
	atLeast1("agent.ssh.max-pending", a.SSH.MaxPending)
	atLeast1("agent.ssh.max-pending-per-source", a.SSH.MaxPendingPerSource)
	errs = append(errs, checkLimits("agent.default-limits", a.DefaultLimits)...)
	errs = append(errs, checkLimits("agent.max-limits", a.MaxLimits)...)
	errs = append(errs, checkDefaultsUnderMax(a.DefaultLimits, a.MaxLimits)...)

	cl := &c.Client
	if cl.ID != "" {
		if err := messages.ValidateID(cl.ID); err != nil {
			bad("client.id", "%v", err)
		}
	}
	positive("client.connect-timeout", cl.ConnectTimeout)
	positive("client.ping-interval", cl.PingInterval)
	positive("client.request-timeout", cl.RequestTimeout)
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

func checkLimits(section string, l Limits) []error {
	var errs []error
	neg := func(name string, negative bool) {
		if negative {
			key := section + "." + name
			errs = append(errs, fmt.Errorf("%s (%s): cannot be negative", key, EnvName(key)))
		}
	}
	neg("time", l.Time < 0)
	neg("hard-time", l.HardTime < 0)
	neg("memory", l.Memory < 0)
	neg("processes", l.Processes < 0)
	neg("output", l.Output < 0)
	neg("disk", l.Disk < 0)
	return errs
}

// checkDefaultsUnderMax refuses defaults above the maximum (0 means no
// maximum), which would make every job without limits ask for too much.
func checkDefaultsUnderMax(def, limit Limits) []error {
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

// tidy trims the items of a list and drops empty ones, so that
// "docker/default, docker/python3" in a variable means what it says.
func tidy(list []string) []string {
	out := list[:0:0]
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
