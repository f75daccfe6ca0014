package config

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Key is one setting: its name in files, its default, and what it means.
type Key struct {
	// Name is the dotted key ("agent.slots").
	Name string
	// Default has the Go type of the setting: string, bool, int, int64,
	// float64, time.Duration, ByteSize or []string.
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

// keys is the one place where settings and their defaults are listed.
// docs/configuration.md documents the same list; a test keeps them in step.
var keys = []Key{
	{"nats.url", "nats://127.0.0.1:4222", "NATS server URL (several, comma-separated, for a cluster)"},
	{"nats.creds", "", "NATS credentials file (`ingo creds`); empty: the admin.creds of the default data directory when it exists"},
	{"prefix", "ingo", "first token of every NATS subject; installations sharing a NATS account need different prefixes"},
	{"log.level", "info", "log level: debug, info, warn or error"},
	{"log.format", "text", "log format: text or json"},

	{"backend.embedded-nats", false, "run a NATS server with JetStream inside the backend, listening at the host:port of nats.url"},
	{"backend.data-dir", defaultDataDir(), "directory of the embedded NATS server's JetStream data and of the installation's keys (nats-keys.json, admin.creds)"},
	{"backend.heartbeat-interval", time.Second, "how often the backend checks that agents are alive"},
	{"backend.heartbeat-misses", 5, "an agent silent for heartbeat-interval × heartbeat-misses is lost"},
	{"backend.max-attempts", 2, "how often a job is tried when the agents running it are lost; then it ends as crash"},
	{"backend.start-timeout", 30 * time.Second, "a job its agent has not confirmed within this time is taken back and queued again"},
	{"backend.environment-grace", 10 * time.Second, "after start, jobs for environments no agent offers wait this long for agents to say hello"},
	{"backend.done-retention", 15 * time.Minute, "how long a finished job's id stays taken and its result kept for a reconnecting client"},
	{"backend.done-memory", ByteSize(256 << 20), "memory bound of the results kept for done-retention"},
	{"backend.client-timeout", 10 * time.Minute, "a client silent this long and waiting for no job is forgotten"},
	{"backend.orphan-timeout", 5 * time.Minute, "waiting jobs of an environment no agent has offered for this long end as crash"},
	{"backend.durable", true, "keep every job transition and undelivered result in a JetStream stream, rebuild the queue from it on start, and elect one active backend (the others wait as standby)"},
	{"backend.result-retention", 72 * time.Hour, "how long a result its client has not acknowledged is kept and sent again; then it is dropped"},
	{"backend.result-resend", 10 * time.Second, "how often an unacknowledged result is sent again to its client while the client is alive"},
	{"backend.replicas", 1, "replicas of the journal stream and the leader bucket: 1 on one NATS server, 3 on a three-node NATS cluster"},
	{"backend.takeover-timeout", 5 * time.Second, "a standby backend takes over at most this long after the active one stopped renewing its lease"},

	{"agent.id", "", "agent id, a NATS subject token; empty: the host name (give each agent its own id when several run on one host)"},
	{"agent.name", "", "friendly name shown in queue snapshots; empty: the host name"},
	{"agent.runtime", "docker", "container runtime: docker, noop or fake (noop finishes every job at once with success, for load tests; fake, for tests, does what each job's @fake input says)"},
	{"agent.environments", []string{"docker/default"}, "environments the noop and fake runtimes offer, as type/name"},
	{"agent.fake-run-log", "", "file the fake runtime appends a line to when an attempt starts and when it ends (for tests); empty: none"},
	{"agent.slots", runtime.NumCPU(), "jobs the agent runs at once (default: the number of cores)"},
	{"agent.memory", int64(0), "MiB the memory limits of running jobs may add up to (0: the machine's memory; negative: no bound)"},
	{"agent.heartbeat-interval", time.Second, "how often the agent pings the backend"},
	{"agent.result-retry", 2 * time.Second, "how often the agent sends a result again until the backend acknowledges it"},
	{"agent.cleanup-interval", time.Minute, "how often the agent removes leftovers of jobs it no longer runs"},
	{"agent.shutdown-grace", time.Duration(0), "on the first SIGINT/SIGTERM, how long running jobs may finish before they end as crash; 0: at once"},
	{"agent.cache-dir", defaultCacheDir(), "directory of the agent's task bundle cache"},
	{"agent.cache-size", ByteSize(1 << 30), "bound of the task bundle cache"},
	{"agent.docker.host", "", "Docker daemon address of the docker runtime; empty: DOCKER_HOST, else the local socket"},
	{"agent.docker.network", "bridge", "Docker network of jobs whose task allows network (network_grading); the others get none"},
	{"agent.docker.cpus", 1.0, "CPUs one job may use at once (Docker NanoCPUs), so one job cannot take every core"},
	{"agent.docker.environment-aliases", []string{"cpp=default", "python3=default", "java=toolchain", "pyjavacpp=toolchain", "java8scala=toolchain"}, "INGInious environment names offered as another image's, as name=environment (the name of org.inginious.grading.name); an alias whose image is missing is not offered"},
	{"agent.docker.api-timeout", 30 * time.Second, "bound of each Docker API call (create, copy, start, inspect, remove); waits are bounded by the job's limits"},
	{"agent.ssh.listen", "0.0.0.0", "address where the agent listens for SSH debug and ssh_student connections, which it relays into the job's container (the container keeps no network)"},
	{"agent.ssh.host", "", "host name or address clients are told to connect to for SSH; empty: agent.ssh.listen when it is a specific address, else this machine's host name"},
	{"agent.ssh.port-min", 64120, "first port of the SSH range (one port per SSH session at once); 0 with port-max 0: SSH debug and ssh_student off"},
	{"agent.ssh.port-max", 64130, "last port of the SSH range"},
	{"agent.ssh.login-timeout", 2 * time.Minute, "an SSH session nobody logged in to by then ends the job (crash, \"Nobody connected to the SSH server\")"},
	{"agent.ssh.max-session", 30 * time.Minute, "an SSH session ends then, whatever happens"},
	{"agent.ssh.handshake-timeout", 20 * time.Second, "an SSH connection not logged in by then is closed"},
	{"agent.ssh.max-pending", 8, "SSH connections not logged in yet that one SSH session admits at once"},
	{"agent.ssh.max-pending-per-source", 3, "of these, how many one client address (IPv6: one /64) may hold, so that one address cannot keep others out"},
	{"agent.default-limits.time", 30.0, "CPU time of a job that sets none, in seconds"},
	{"agent.default-limits.hard-time", 0.0, "wall time of a job that sets none, in seconds; 0: three times its CPU time"},
	{"agent.default-limits.memory", int64(256), "memory of a job that sets none, in MiB (no swap)"},
	{"agent.default-limits.processes", int64(512), "processes and threads of a job that sets none"},
	{"agent.default-limits.output", ByteSize(1 << 20), "bound of each of stdout, stderr, feedback and archive of a job that sets none"},
	{"agent.default-limits.disk", int64(256), "writable disk of a job that sets none, in MiB"},
	{"agent.max-limits.time", 600.0, "largest CPU time a job may ask for, in seconds"},
	{"agent.max-limits.hard-time", 1800.0, "largest wall time a job may ask for, in seconds"},
	{"agent.max-limits.memory", int64(4096), "largest memory a job may ask for, in MiB"},
	{"agent.max-limits.processes", int64(4096), "largest number of processes a job may ask for"},
	{"agent.max-limits.output", ByteSize(3 << 19), "largest output bound a job may ask for (4 x this must fit the NATS max_payload, 8 MiB embedded)"},
	{"agent.max-limits.disk", int64(4096), "largest writable disk a job may ask for, in MiB"},

	{"http-addr", "127.0.0.1:8080", "host:port where ingo api and ingo up serve the HTTP API, the dashboard and /metrics"},
	{"api.client-id", "", "client id of the HTTP API towards the backend; stable, so that results of jobs submitted before an API restart still arrive; empty: ingo-api-<host name>"},
	{"api.admin-token", "", "an admin token of the HTTP API besides those of ingo token (every /api/v1 route needs a token); keep it secret"},
	{"api.max-body", ByteSize(64 << 20), "largest HTTP request body (a submission with its task archive and files)"},
	{"api.upload-memory", ByteSize(64 << 20), "memory the HTTP API may spend on request bodies at once: each reserves four times its size before it is read, the others wait"},
	{"api.job-memory", ByteSize(256 << 20), "memory bound of the jobs and results the API keeps for GET /api/v1/jobs/{id}; the oldest finished ones go first"},
	{"api.frontend-network", false, "let jobs submitted with a frontend token ask for network_grading"},
	{"api.frontend-max-limits.time", 0.0, "largest CPU time a frontend token may ask for, in seconds; 0: agent.default-limits.time"},
	{"api.frontend-max-limits.hard-time", 0.0, "largest wall time a frontend token may ask for, in seconds; 0: agent.default-limits.hard-time, and when that is 0, three times the largest CPU time"},
	{"api.frontend-max-limits.memory", int64(0), "largest memory a frontend token may ask for, in MiB; 0: agent.default-limits.memory"},
	{"api.frontend-max-limits.processes", int64(0), "largest number of processes a frontend token may ask for; 0: agent.default-limits.processes"},
	{"api.frontend-max-limits.output", ByteSize(0), "largest output bound a frontend token may ask for; 0: agent.default-limits.output"},
	{"api.frontend-max-limits.disk", int64(0), "largest writable disk a frontend token may ask for, in MiB; 0: agent.default-limits.disk"},
	{"backend.metrics-addr", "", "host:port where ingo backend serves Prometheus /metrics, /healthz and /readyz; empty: none"},
	{"agent.metrics-addr", "", "host:port where ingo agent serves Prometheus /metrics, /healthz and /readyz; empty: none"},
	{"inginious.listen", "", "ZeroMQ endpoint (tcp://HOST:PORT) where ingo inginious-bridge, and ingo up when set, serve INGInious' client protocol to an INGInious webapp; empty with ingo up: no bridge"},
	{"inginious.tasks-dir", "", "the INGInious webapp's task folder (<course>/<task>, and each course's $common), which the bridge reads jobs' tasks from"},
	{"inginious.client-id", "", "client id of the bridge towards the backend; stable, so that results of jobs submitted before a bridge restart still reach the webapp; empty: ingo-inginious-<host name>"},
	{"up.data-dir", defaultDataDir(), "directory of ingo up's embedded NATS data (jobs, results, task bundles) and of the HTTP API's token key (api-token.key) and admin token (api-token)"},

	{"client.name", "ingo-cli", "client name shown in the backend's logs"},
	{"client.id", "", "client id, a NATS subject token; empty: a random id per process"},
	{"client.connect-timeout", 5 * time.Second, "how long a command waits for NATS and the backend before it gives up"},
	{"client.ping-interval", time.Second, "how often the client pings the backend"},
	{"client.request-timeout", 10 * time.Second, "how long the client waits for the backend to answer a request"},
}

// Keys returns every setting, sorted by name.
func Keys() []Key {
	out := append([]Key(nil), keys...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the key called name.
func Lookup(name string) (Key, bool) {
	for _, k := range keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// DefaultDataDir is where ingo up keeps its state: $XDG_DATA_HOME/ingo, or
// ~/.local/share/ingo. The CLI finds its credentials there.
func DefaultDataDir() string { return defaultDataDir() }

func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "ingo")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "ingo")
	}
	return "ingo-data"
}

// defaultCacheDir is the user's cache directory, or the temporary directory
// for a user without a home (a service account in a container).
func defaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "ingo", "bundles")
}
