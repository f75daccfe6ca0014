package main

import (
	"time"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/backend/history"
	"github.com/ingo-grader/ingo/backend/journal"
	"github.com/ingo-grader/ingo/containers/docker"
	"github.com/ingo-grader/ingo/frontendclient"
	api "github.com/ingo-grader/ingo/gateway/http"
	bridge "github.com/ingo-grader/ingo/gateway/inginious"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/internal/httpserve"
	"github.com/ingo-grader/ingo/messages"
)

// Config is every setting of every command: the components' own
// configurations, which declare their keys, help, bounds and defaults
// (internal/settings), and beside them the few settings only this program
// has (where NATS is, which runtime, where data goes). A command reads the
// sections it needs; one file may configure several components.
type Config struct {
	NATS   natsSettings `key:"nats"`
	Prefix string       `key:"prefix" check:"nonempty,id" help:"first token of every NATS subject; installations sharing a NATS account need different prefixes"`
	Log    logSettings  `key:"log"`

	Backend backendSettings `key:"backend"`
	Agent   agentSettings   `key:"agent"`
	Client  clientSettings  `key:"client"`

	HTTPAddr            string            `key:"http-addr" help:"host:port where ingo api and ingo up serve the HTTP API, the dashboard and /metrics"`
	HTTPTLSCert         string            `key:"http-tls-cert" help:"certificate file (PEM) of the HTTP API, served over HTTPS only: without it, bearer tokens and students' files cross the network in clear (ingo certs makes one; or serve behind a TLS proxy)"`
	HTTPTLSKey          string            `key:"http-tls-key" help:"key file (PEM) of http-tls-cert"`
	HTTPMaxConns        int               `key:"http-max-conns" check:"positive" help:"connections the HTTP API holds at once; when all are taken, a newcomer takes the place of an untrusted one (no valid token yet) of an address holding more, or is closed (docs/security.md)"`
	HTTPMaxConnsPerAddr int               `key:"http-max-conns-per-addr" check:"positive" help:"untrusted connections (no valid token yet) the HTTP API holds at once from one address, an IPv4 address or an IPv6 /64 (a proxy in front counts as one); more are closed as they come"`
	API                 api.Options       `key:"api"`
	INGInious           inginiousSettings `key:"inginious"`
	Up                  upSettings        `key:"up"`
}

type natsSettings struct {
	URL   string `key:"url" help:"NATS server URL (several, comma-separated, for a cluster)"`
	Creds string `key:"creds" help:"NATS credentials file (ingo creds); empty: the admin.creds of the default data directory when it exists"`
	TLSCA string `key:"tls-ca" help:"CA file (PEM) that signed the NATS server's certificate (tls-ca.pem of ingo certs): the connection then requires TLS with a certificate of that CA, never clear text; empty: TLS only for tls:// URLs, checked against the system's CAs"`
}

type logSettings struct {
	Level  string `key:"level" help:"log level: debug, info, warn or error"`
	Format string `key:"format" help:"log format: text or json"`
}

// backendSettings are the backend's own, and how ingo backend runs it.
type backendSettings struct {
	backend.Config `key:",inline"`

	EmbeddedNATS    bool          `key:"embedded-nats" help:"run a NATS server with JetStream inside the backend, listening at the host:port of nats.url"`
	NATSTLSCert     string        `key:"nats-tls-cert" help:"certificate file (PEM) of the embedded NATS server, which then admits TLS connections only: without it, job inputs, task bundles and results cross the network in clear (ingo certs makes one)"`
	NATSTLSKey      string        `key:"nats-tls-key" help:"key file (PEM) of backend.nats-tls-cert"`
	DataDir         string        `key:"data-dir" help:"directory of the embedded NATS server's JetStream data and of the installation's keys (nats-keys.json, admin.creds)"`
	Durable         bool          `key:"durable" help:"keep every job transition and undelivered result in a JetStream stream, rebuild the queue from it on start, and elect one active backend (the others wait as standby)"`
	Replicas        int           `key:"replicas" help:"replicas of the journal stream, the leader bucket and the task bundle store: 1 on one NATS server, 3 on a three-node NATS cluster"`
	BundleRetention time.Duration `key:"bundle-retention" check:"min=72h" help:"how long the task bundle store keeps an uploaded task folder; a frontend uploads one again when its copy is a day old, so a bundle in use never expires (at least 72h)"`
	BundleMaxBytes  int64         `key:"bundle-max-bytes" unit:"bytes" check:"min=67108864" help:"bound of the task bundle store's stream; when it is full new uploads are refused (what is stored stays) until bundle-retention frees room"`
	JournalMaxBytes int64         `key:"journal-max-bytes" unit:"bytes" check:"min=67108864" help:"bound of the job journal's stream; from 90% of it new jobs are refused (never old records dropped), so size it for the waiting jobs of a deadline with their files"`
	// The job history (backend/history), kept with backend.durable.
	History           bool          `key:"history" help:"keep the job history (with backend.durable): every finished job's record, its result included, for ingo result, ingo jobs and GET /api/v1/jobs; false keeps none, for a frontend that stores its students' results itself (as INGInious' webapp does), and costs the backend about a third less CPU per job"`
	HistoryRetention  time.Duration `key:"history-retention" check:"min=1m" help:"how long every finished job's record (its result included) is kept in the job history, for ingo result, ingo jobs and GET /api/v1/jobs"`
	HistoryMaxBytes   int64         `key:"history-max-bytes" unit:"bytes" check:"min=67108864" help:"bound of the job history's stream; when it is full the oldest records go first"`
	HistoryMaxArchive int64         `key:"history-max-archive" unit:"bytes" check:"nonneg" help:"largest result archive the job history keeps (0: none); a larger one is delivered but not kept (the record says its size)"`
	TakeoverTimeout   time.Duration `key:"takeover-timeout" check:"min=1s" help:"a standby backend takes over at most this long after the active one stopped renewing its lease (at least 1s)"`
	MetricsAddr       string        `key:"metrics-addr" help:"host:port where ingo backend serves Prometheus /metrics, /healthz and /readyz; empty: none"`
}

// agentSettings are the agent's own, its docker runtime's, and how ingo
// agent runs them.
type agentSettings struct {
	agent.Config `key:",inline"`

	Runtime      string   `key:"runtime" check:"oneof=docker|noop|fake" help:"container runtime: docker, or noop (finishes every job at once with success: for trying ingo out and load tests)"`
	Environments []string `key:"environments" help:"environments the noop runtime offers, as type/name; empty: those of the images ingo ships (docker/default, docker/minimal, docker/toolchain); the fake runtime's default is docker/default"`
	FakeRunLog   string   `key:"fake-run-log" help:"file the fake runtime appends a line to when an attempt starts and when it ends (for tests); empty: none"`
	MCQ          bool     `key:"mcq" help:"grade INGInious' multiple-choice tasks (environment mcq/mcq) in the agent itself, as INGInious' MCQ agent does"`
	CacheDir     string   `key:"cache-dir" check:"nonempty" help:"directory of the agent's task bundle cache"`
	CacheSize    int64    `key:"cache-size" unit:"bytes" check:"positive" help:"bound of the task bundle cache"`
	MetricsAddr  string   `key:"metrics-addr" help:"host:port where ingo agent serves Prometheus /metrics, /healthz and /readyz; empty: none"`

	Docker docker.Options    `key:"docker"`
	SSH    docker.SSHOptions `key:"ssh"`
}

// clientSettings are those of the commands that talk to a backend.
type clientSettings struct {
	frontendclient.Options `key:",inline"`

	ConnectTimeout time.Duration `key:"connect-timeout" check:"positive" help:"how long a command waits for NATS and the backend before it gives up"`
}

type inginiousSettings struct {
	bridge.Options `key:",inline"`

	ClientID string `key:"client-id" check:"id" help:"client id of the bridge towards the backend; stable, so that results of jobs submitted before a bridge restart still reach the webapp; empty: the name in its credentials (nats.creds, role frontend), which it must be when they are given, else ingo-inginious-<host name>"`
	// MetricsAddr: ingo up serves the bridge's metrics on the API's
	// /metrics, whatever this says.
	MetricsAddr string `key:"metrics-addr" help:"host:port where ingo inginious-bridge serves Prometheus /metrics, /healthz and /readyz; empty: none (ingo up serves the bridge's on the HTTP API's /metrics)"`
}

type upSettings struct {
	DataDir string `key:"data-dir" help:"directory of ingo up's embedded NATS data (jobs, results, task bundles) and of the HTTP API's token key (api-token.key) and admin token (api-token)"`
}

// Runtimes an agent can use.
const (
	runtimeDocker = "docker"
	runtimeNoop   = "noop"
	// runtimeFake is containers/fake, for tests: jobs do what their
	// "@fake" input says.
	runtimeFake = "fake"
)

// defaultConfig is the components' defaults, and this program's.
func defaultConfig() Config {
	client := frontendclient.Options{
		Name:           "ingo-cli",
		PingInterval:   frontendclient.DefaultPingInterval,
		RequestTimeout: frontendclient.DefaultRequestTimeout,
	}
	return Config{
		NATS:   natsSettings{URL: "nats://127.0.0.1:4222"},
		Prefix: messages.DefaultPrefix,
		Log:    logSettings{Level: "info", Format: "text"},
		Backend: backendSettings{
			Config:          backend.DefaultConfig(),
			DataDir:         config.DefaultDataDir(),
			Durable:         true,
			Replicas:        1,
			BundleRetention: bundle.DefaultRetention,
			BundleMaxBytes:  bundle.DefaultStoreBytes,
			JournalMaxBytes: journal.DefaultMaxBytes,
			TakeoverTimeout: 5 * time.Second,

			History:           true,
			HistoryRetention:  history.DefaultRetention,
			HistoryMaxBytes:   history.DefaultMaxBytes,
			HistoryMaxArchive: history.DefaultMaxArchive,
		},
		Agent: agentSettings{
			Config:    agent.DefaultConfig(),
			Runtime:   runtimeDocker,
			MCQ:       true,
			CacheDir:  config.DefaultCacheDir("bundles"),
			CacheSize: 1 << 30,
			Docker:    docker.DefaultOptions(),
			SSH:       docker.DefaultSSHOptions(),
		},
		Client:   clientSettings{Options: client, ConnectTimeout: 5 * time.Second},
		HTTPAddr: "127.0.0.1:8080",

		HTTPMaxConns:        httpserve.DefaultLimits().MaxConns,
		HTTPMaxConnsPerAddr: httpserve.DefaultLimits().MaxConnsPerAddr,
		API:                 api.DefaultOptions(),
		INGInious:           inginiousSettings{Options: bridge.Options{MaxUnfinishedBytes: bridge.DefaultMaxUnfinishedBytes}},
		Up:                  upSettings{DataDir: config.DefaultDataDir()},
	}
}

// schema reads Config's declaration once; every command loads through it.
var schema = config.NewSchema(defaultConfig)
