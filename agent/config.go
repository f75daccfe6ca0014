package agent

import (
	"fmt"
	"runtime"
	"time"

	"github.com/ingo-grader/ingo/internal/settings"
	"github.com/ingo-grader/ingo/messages"
)

// Config configures an Agent. Every zero value means "the default" named on
// the field (DefaultConfig gives them all); the tags declare the settings
// (internal/settings), from which cmd/ingo reads files, variables, flags.
type Config struct {
	// ID names the agent on the wire (a subject token, see
	// messages.ValidateID). Required.
	ID string `key:"id" check:"id" help:"agent id, a NATS subject token; empty: the name in its credentials (nats.creds), which it must be when they are given, else the host name (give each agent its own credentials when several run on one host)"`
	// Name is the friendly name shown to clients and admins (default: ID).
	Name string `key:"name" help:"friendly name shown in queue snapshots; empty: the host name"`
	// Prefix is the subject prefix (default messages.DefaultPrefix).
	Prefix string `key:"-"`
	// Installation names the installation the agent serves (cmd/ingo uses
	// the NATS account of its credentials and the prefix). The runtime
	// labels the agent's containers with it, and Cleanup never touches
	// another installation's: two installations may name an agent alike
	// on one host. Empty is an installation of its own.
	Installation string `key:"-"`
	// Slots is how many attempts run at once (default runtime.NumCPU()).
	Slots int `key:"slots" check:"min=1" help:"jobs the agent runs at once"`
	// Memory is how many MiB the memory limits of running attempts may add
	// up to. An attempt waits (it is started, not refused) until its limit
	// fits; one over the whole amount is handed back to the backend (another
	// agent may have more; see AgentJobRefused). 0 means the machine's
	// memory (MemTotal in /proc/meminfo), or no bound where that is unknown;
	// a negative value means no bound.
	Memory int64 `key:"memory" help:"MiB the memory limits of running jobs may add up to (0: the machine's memory; negative: no bound)"`
	// HeartbeatInterval is the period of Ping to the backend (default 1s).
	// The backend answers Unknown when it lost the agent; the agent then
	// says hello again.
	HeartbeatInterval time.Duration `key:"heartbeat-interval" check:"positive" help:"how often the agent pings the backend"`
	// ResultRetry is how long an AgentJobDone may stay unanswered before it
	// is sent again (default 2s).
	ResultRetry time.Duration `key:"result-retry" check:"positive" help:"how often the agent sends a result again until the backend acknowledges it"`
	// DefaultLimits apply where a job gives 0. Defaults: Time 30 s, HardTime
	// 3 × Time, Memory 256 MiB, Processes 512, Output 1 MiB, Disk 256 MiB.
	// A job that sets Time but not HardTime gets 3 × its Time instead.
	DefaultLimits messages.Limits `key:"default-limits" help:"limits of a job that sets none"`
	// MaxLimits cap every job. Defaults: Time 600 s, HardTime 1800 s, Memory
	// 4096 MiB, Processes 4096, Output 1.5 MiB, Disk 4096 MiB. Output bounds each
	// of stdout, stderr, feedback and archive: four of them must fit one NATS
	// message (8 MiB on the embedded server).
	MaxLimits messages.Limits `key:"max-limits" help:"the largest limits a job may ask for (4 x output must fit the NATS max_payload, 8 MiB embedded)"`
	// CleanupInterval is the period of Runtime.Cleanup (default 1 min).
	CleanupInterval time.Duration `key:"cleanup-interval" check:"positive" help:"how often the agent removes leftovers of jobs it no longer runs"`
	// ShutdownGrace is how long Run lets running attempts finish once its
	// context is done, before it cancels them with containers.ErrShutdown
	// and hands them back to the backend, which queues them again (within
	// backend.max-attempts, as the jobs of a dead agent). The default, 0,
	// cancels them at once: a grading job is short, and another agent (or
	// this one restarted) grades it again from the start rather than wait
	// for an agent that is going away. Operators doing rolling restarts set
	// it to about the longest HardTime they allow, so that little is run
	// twice.
	ShutdownGrace time.Duration `key:"shutdown-grace" check:"nonneg" help:"on the first SIGINT/SIGTERM, how long running jobs may finish before they are handed back to the backend to run again; 0: at once"`
	// FlushTimeout bounds how long Run waits, at the very end, for the
	// backend to acknowledge the results it holds (default 5s).
	FlushTimeout time.Duration `key:"-"`
	// Observer hears of container starts and results (for metrics); nil
	// means none. It is called from the attempts' goroutines and from NATS
	// callbacks, concurrently: it must be safe for that and never block.
	Observer Observer `key:"-"`
}

// Observer hears of an agent's job events as they happen; cmd/ingo/metrics
// implements it.
type Observer interface {
	// ContainerStarted: the runtime reported that the attempt's container
	// runs, latency after the agent took the attempt (task files, image,
	// memory admission and container creation included). Runtimes that do
	// not report it (containers.StartEvents) never call it.
	ContainerStarted(envType, env string, latency time.Duration)
	// JobFinished: an attempt has its one result, with this status (as
	// sent: a result replaced because it could not be sent counts with
	// the replacement's status). Refused jobs count too.
	JobFinished(status messages.Status)
}

// Default values of Config.
const (
	DefaultHeartbeatInterval = time.Second
	DefaultResultRetry       = 2 * time.Second
	DefaultCleanupInterval   = time.Minute
	DefaultFlushTimeout      = 5 * time.Second
)

// DefaultJobLimits are the defaults of Config.DefaultLimits.
var DefaultJobLimits = messages.Limits{
	Time: 30, HardTime: 90, Memory: 256, Processes: 512, Output: 1 << 20, Disk: 256,
}

// DefaultMaxLimits are the defaults of Config.MaxLimits.
var DefaultMaxLimits = messages.Limits{
	Time: 600, HardTime: 1800, Memory: 4096, Processes: 4096, Output: 3 << 19, Disk: 4096,
}

// DefaultConfig returns the settings of an agent nobody configured (ID is
// still to be given). Its DefaultLimits.HardTime is 0: three times the
// CPU time, whatever that is set to.
func DefaultConfig() Config {
	def := DefaultJobLimits
	def.HardTime = 0
	return Config{
		Slots:             runtime.NumCPU(),
		HeartbeatInterval: DefaultHeartbeatInterval,
		ResultRetry:       DefaultResultRetry,
		CleanupInterval:   DefaultCleanupInterval,
		FlushTimeout:      DefaultFlushTimeout,
		DefaultLimits:     def,
		MaxLimits:         DefaultMaxLimits,
	}
}

// withDefaults fills in the defaults of zero fields and checks c against
// its tags.
func (c Config) withDefaults() (Config, error) {
	if err := messages.ValidateID(c.ID); err != nil {
		return c, fmt.Errorf("%w: agent id: %w", ErrInvalidConfig, err)
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	if len(c.Name) > messages.MaxNameLength {
		// The backend refuses the hello of a longer one.
		return c, fmt.Errorf("%w: agent name of %d bytes: %d at most", ErrInvalidConfig, len(c.Name), messages.MaxNameLength)
	}
	if c.Prefix == "" {
		c.Prefix = messages.DefaultPrefix
	}
	if c.Slots == 0 {
		c.Slots = runtime.NumCPU()
	}
	if c.Memory == 0 {
		c.Memory = machineMemory()
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&c.HeartbeatInterval, DefaultHeartbeatInterval},
		{&c.ResultRetry, DefaultResultRetry},
		{&c.CleanupInterval, DefaultCleanupInterval},
		{&c.FlushTimeout, DefaultFlushTimeout},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.FlushTimeout < 0 {
		return c, fmt.Errorf("%w: negative flush timeout %v", ErrInvalidConfig, c.FlushTimeout)
	}
	c.DefaultLimits, c.MaxLimits = c.filledLimits()
	if err := settings.Check(&c); err != nil {
		return c, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return c, nil
}

// filledLimits are c's default and maximum limits with every zero field
// given its default.
func (c Config) filledLimits() (def, ceil messages.Limits) {
	base := DefaultJobLimits
	if c.DefaultLimits.Time > 0 {
		// The default wall time follows a configured CPU time unless it
		// is configured too.
		base.HardTime = 3 * c.DefaultLimits.Time
	}
	return fillLimits(c.DefaultLimits, base), fillLimits(c.MaxLimits, DefaultMaxLimits)
}

// JobLimits are the limits an attempt runs with on an agent of config c
// when its job asks for job (zero fields: none). The Docker runtime's
// warm pool is made for JobLimits(messages.Limits{}), what a job that
// sets no limits gets.
func (c Config) JobLimits(job messages.Limits) messages.Limits {
	def, ceil := c.filledLimits()
	return effectiveLimits(job, def, ceil)
}

// fillLimits replaces every zero or negative field of l by the one of def.
func fillLimits(l, def messages.Limits) messages.Limits {
	l.Time = orF(l.Time, def.Time)
	l.HardTime = orF(l.HardTime, def.HardTime)
	l.Memory = orI(l.Memory, def.Memory)
	l.Processes = orI(l.Processes, def.Processes)
	l.Output = orI(l.Output, def.Output)
	l.Disk = orI(l.Disk, def.Disk)
	return l
}

// effectiveLimits are the limits one attempt runs with: the job's value
// where it gives one, the agent's default otherwise, never above the
// agent's maximum. A job that sets Time but not HardTime gets 3 × Time, as
// in INGInious. def and ceil are filled (withDefaults).
func effectiveLimits(job, def, ceil messages.Limits) messages.Limits {
	var l messages.Limits
	l.Time = min(orF(job.Time, def.Time), ceil.Time)
	hard := job.HardTime
	if hard <= 0 {
		hard = def.HardTime
		if job.Time > 0 {
			hard = 3 * l.Time
		}
	}
	l.HardTime = min(hard, ceil.HardTime)
	l.Memory = min(orI(job.Memory, def.Memory), ceil.Memory)
	l.Processes = min(orI(job.Processes, def.Processes), ceil.Processes)
	l.Output = min(orI(job.Output, def.Output), ceil.Output)
	l.Disk = min(orI(job.Disk, def.Disk), ceil.Disk)
	return l
}

func orF(v, def float64) float64 {
	if v > 0 {
		return v
	}
	return def
}

func orI(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}
