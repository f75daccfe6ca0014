package config

import (
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// Config is every setting of every component. A command reads the sections
// it needs; one file may configure several components (the keys of the
// others are known, so they are not errors).
type Config struct {
	NATS NATS `mapstructure:"nats"`
	// Prefix is the first token of every NATS subject, so that several
	// installations can share one NATS account.
	Prefix  string  `mapstructure:"prefix"`
	Log     Log     `mapstructure:"log"`
	Backend Backend `mapstructure:"backend"`
	Agent   Agent   `mapstructure:"agent"`
	Client  Client  `mapstructure:"client"`
	// HTTPAddr is where ingo api and ingo up serve HTTP.
	HTTPAddr  string    `mapstructure:"http-addr"`
	API       API       `mapstructure:"api"`
	INGInious INGInious `mapstructure:"inginious"`
	Up        Up        `mapstructure:"up"`

	// File is the configuration file that was read, or "" (not a key).
	File string `mapstructure:"-"`
}

// API configures the HTTP API (ingo api, ingo up).
type API struct {
	ClientID     string   `mapstructure:"client-id"`
	AdminToken   string   `mapstructure:"admin-token"`
	MaxBody      ByteSize `mapstructure:"max-body"`
	UploadMemory ByteSize `mapstructure:"upload-memory"`
	JobMemory    ByteSize `mapstructure:"job-memory"`
	// FrontendNetwork and FrontendMaxLimits bound what a frontend token
	// may ask for; a zero limit means the agents' default.
	FrontendNetwork   bool   `mapstructure:"frontend-network"`
	FrontendMaxLimits Limits `mapstructure:"frontend-max-limits"`
}

// INGInious configures the INGInious bridge (ingo inginious-bridge, and
// ingo up when Listen is set).
type INGInious struct {
	Listen   string `mapstructure:"listen"`
	TasksDir string `mapstructure:"tasks-dir"`
	ClientID string `mapstructure:"client-id"`
}

// Up configures ingo up (it also reads the backend, agent and api keys).
type Up struct {
	DataDir string `mapstructure:"data-dir"`
}

// NATS says where the NATS server is.
type NATS struct {
	URL   string `mapstructure:"url"`
	Creds string `mapstructure:"creds"`
}

// Log configures the logger of every command.
type Log struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

// Backend configures `ingo backend`.
type Backend struct {
	EmbeddedNATS      bool          `mapstructure:"embedded-nats"`
	DataDir           string        `mapstructure:"data-dir"`
	HeartbeatInterval time.Duration `mapstructure:"heartbeat-interval"`
	HeartbeatMisses   int           `mapstructure:"heartbeat-misses"`
	MaxAttempts       int           `mapstructure:"max-attempts"`
	StartTimeout      time.Duration `mapstructure:"start-timeout"`
	EnvironmentGrace  time.Duration `mapstructure:"environment-grace"`
	DoneRetention     time.Duration `mapstructure:"done-retention"`
	DoneMemory        ByteSize      `mapstructure:"done-memory"`
	ClientTimeout     time.Duration `mapstructure:"client-timeout"`
	OrphanTimeout     time.Duration `mapstructure:"orphan-timeout"`
	Durable           bool          `mapstructure:"durable"`
	ResultRetention   time.Duration `mapstructure:"result-retention"`
	ResultResend      time.Duration `mapstructure:"result-resend"`
	Replicas          int           `mapstructure:"replicas"`
	TakeoverTimeout   time.Duration `mapstructure:"takeover-timeout"`
	MetricsAddr       string        `mapstructure:"metrics-addr"`
}

// Agent configures `ingo agent`.
type Agent struct {
	MetricsAddr string `mapstructure:"metrics-addr"`
	ID          string `mapstructure:"id"`
	Name        string `mapstructure:"name"`
	Runtime     string `mapstructure:"runtime"`
	// Environments are "type/name" pairs offered by the noop and fake
	// runtimes.
	Environments []string `mapstructure:"environments"`
	// FakeRunLog is the fake runtime's run log file; empty: none.
	FakeRunLog        string        `mapstructure:"fake-run-log"`
	Slots             int           `mapstructure:"slots"`
	Memory            int64         `mapstructure:"memory"`
	HeartbeatInterval time.Duration `mapstructure:"heartbeat-interval"`
	ResultRetry       time.Duration `mapstructure:"result-retry"`
	CleanupInterval   time.Duration `mapstructure:"cleanup-interval"`
	ShutdownGrace     time.Duration `mapstructure:"shutdown-grace"`
	CacheDir          string        `mapstructure:"cache-dir"`
	CacheSize         ByteSize      `mapstructure:"cache-size"`
	DefaultLimits     Limits        `mapstructure:"default-limits"`
	MaxLimits         Limits        `mapstructure:"max-limits"`
	Docker            Docker        `mapstructure:"docker"`
	SSH               SSH           `mapstructure:"ssh"`
}

// SSH configures SSH debug and ssh_student on the docker runtime.
type SSH struct {
	Listen       string        `mapstructure:"listen"`
	Host         string        `mapstructure:"host"`
	PortMin      int           `mapstructure:"port-min"`
	PortMax      int           `mapstructure:"port-max"`
	LoginTimeout time.Duration `mapstructure:"login-timeout"`
	MaxSession   time.Duration `mapstructure:"max-session"`
	// Bounds against unauthenticated clients (containers/docker sshGate).
	HandshakeTimeout    time.Duration `mapstructure:"handshake-timeout"`
	MaxPending          int           `mapstructure:"max-pending"`
	MaxPendingPerSource int           `mapstructure:"max-pending-per-source"`
}

// Docker configures the docker runtime of the agent.
type Docker struct {
	// Host is the daemon address; empty: DOCKER_HOST or the local socket.
	Host string `mapstructure:"host"`
	// Network is the network of jobs with network_grading.
	Network string `mapstructure:"network"`
	// CPUs is how many CPUs one job may use at once.
	CPUs float64 `mapstructure:"cpus"`
	// APITimeout bounds each Docker API call.
	APITimeout time.Duration `mapstructure:"api-timeout"`
	// EnvironmentAliases are "name=environment" pairs.
	EnvironmentAliases []string `mapstructure:"environment-aliases"`
}

// Limits mirror messages.Limits with the units people write in files:
// seconds, MiB for memory and disk, a byte size for output.
type Limits struct {
	Time      float64  `mapstructure:"time"`
	HardTime  float64  `mapstructure:"hard-time"`
	Memory    int64    `mapstructure:"memory"`
	Processes int64    `mapstructure:"processes"`
	Output    ByteSize `mapstructure:"output"`
	Disk      int64    `mapstructure:"disk"`
}

// Messages converts l to the wire type.
func (l Limits) Messages() messages.Limits {
	return messages.Limits{
		Time:      l.Time,
		HardTime:  l.HardTime,
		Memory:    l.Memory,
		Processes: l.Processes,
		Output:    int64(l.Output),
		Disk:      l.Disk,
	}
}

// Client configures the commands that talk to a backend (submit, kill,
// queue, envs, agents).
type Client struct {
	Name string `mapstructure:"name"`
	ID   string `mapstructure:"id"`
	// ConnectTimeout bounds how long a command waits for NATS and for the
	// backend's first answer before it gives up with an error.
	ConnectTimeout time.Duration `mapstructure:"connect-timeout"`
	PingInterval   time.Duration `mapstructure:"ping-interval"`
	RequestTimeout time.Duration `mapstructure:"request-timeout"`
}
