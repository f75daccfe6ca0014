package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/docker"
	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/containers/mcq"
	"github.com/ingo-grader/ingo/containers/noop"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

func newAgentCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run jobs for the backend on this host",
		Long: `Run an agent: it registers with the backend, offers its environments and job
slots, and runs the jobs the backend gives it.

--runtime docker (the default) runs each job in a locked-down container of a
grading image: images labelled org.inginious.grading.name on the local Docker
daemon (agent.docker.host, else DOCKER_HOST) are the environments; build
ingo's with 'make images'. --runtime noop finishes every job at once with
success and offers the environments named by --environments, by default
those of the images ingo ships (docker/default, docker/minimal,
docker/toolchain): it is for trying ingo out and for load tests.

The first SIGINT or SIGTERM stops taking jobs, lets running ones finish for
agent.shutdown-grace and sends their results; a second exits at once.`,
		Example: `  ingo agent
  ingo agent --runtime noop
  ingo agent --runtime noop --environments docker/default,docker/python3 --concurrency 8`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runAgent(cmd.Context()) },
	}
	fs := cmd.Flags()
	schema.AddFlag(fs, "agent.runtime", "runtime", "", "")
	schema.AddFlag(fs, "agent.environments", "environments", "", "")
	schema.AddFlag(fs, "agent.slots", "concurrency", "", "job slots: jobs run at once")
	schema.AddFlag(fs, "agent.id", "id", "", "")
	schema.AddFlag(fs, "agent.name", "name", "", "")
	schema.AddFlag(fs, "agent.cache-dir", "cache-dir", "", "")
	schema.AddFlag(fs, "agent.metrics-addr", "metrics-addr", "", "")
	return cmd
}

func (a *app) runAgent(ctx context.Context) error { return a.runAgentOn(ctx, a.cfg.NATS.URL) }

// runAgentOn runs the agent on the NATS at natsURL until ctx ends.
func (a *app) runAgentOn(ctx context.Context, natsURL string) error {
	cfg := a.cfg
	ac, err := agentConfig(cfg)
	if err != nil {
		return err
	}
	// The agent id is the name in its credentials: NATS lets it speak for
	// that agent only. Beside an embedded server they are made for it.
	wanted := cfg.Agent.ID
	if a.keys != nil {
		wanted = ac.ID
	}
	creds, err := a.credsFor(natsauth.RoleAgent, wanted)
	if err != nil {
		return err
	}
	ac.ID = creds.Name
	if ac.Installation, err = installation(creds); err != nil {
		return err
	}
	if cfg.Agent.Name == "" && a.keys == nil {
		ac.Name = creds.Name
	}
	log := a.log.With("component", "agent")
	rt, err := newRuntime(ctx, cfg.Agent, ac.ID, log)
	if err != nil {
		return err
	}
	defer func() { _ = rt.Close() }()

	nc, err := a.dial(natsURL, "ingo-agent "+ac.Name, creds)
	if err != nil {
		return err
	}
	defer closeConn(nc)
	am, stopMetrics, err := a.agentMetrics(ctx, nc, rt) // agent.metrics-addr
	if err != nil {
		return err
	}
	defer stopMetrics()
	ac.Observer = am.Observer()
	if err := a.waitConnected(ctx, nc, 0, 10*time.Second); err != nil {
		return stopped(ctx, err)
	}

	cache, err := a.bundleCache(ctx, nc)
	if err != nil {
		return stopped(ctx, err)
	}
	ag, err := agent.New(nc, rt, cache, ac, log)
	if err != nil {
		return fmt.Errorf("%w (check the agent.* settings)", err)
	}
	am.Follow(ag)
	log.Info("agent connected", "nats", natsconn.Redact(natsURL), "id", ac.ID, "runtime", rt.Name(), "slots", ac.Slots)
	if err := stopped(ctx, ag.Run(ctx)); err != nil {
		return err
	}
	// Run has sent every result; make sure they left.
	_ = nc.FlushTimeout(2 * time.Second)
	return nil
}

// newRuntime makes the container runtime named by agent.runtime, which
// grades MCQ tasks too unless agent.mcq is off.
func newRuntime(ctx context.Context, cfg agentSettings, agentID string, log *slog.Logger) (containers.Runtime, error) {
	rt, err := newContainerRuntime(ctx, cfg, agentID, log)
	if err != nil || !cfg.MCQ {
		return rt, err
	}
	return mcq.Wrap(rt), nil
}

func newContainerRuntime(ctx context.Context, cfg agentSettings, agentID string, log *slog.Logger) (containers.Runtime, error) {
	switch cfg.Runtime {
	case runtimeNoop:
		rt, err := noop.New(cfg.Environments...)
		if err != nil {
			return nil, fmt.Errorf("%w (check --environments / INGO_AGENT_ENVIRONMENTS)", err)
		}
		return rt, nil
	case runtimeFake:
		return newFakeRuntime(cfg)
	case runtimeDocker:
		opts := cfg.Docker
		opts.AgentID, opts.SSH, opts.Logger = agentID, cfg.SSH, log
		// The warm pool's containers are those of a job that sets no
		// limits; jobs with other limits start cold.
		opts.Pool.Limits = cfg.Config.JobLimits(messages.Limits{})
		if w := sshPortsWarning(cfg.Slots, cfg.SSH); w != "" {
			log.Warn(w, "slots", cfg.Slots, "ssh_ports", cfg.SSH.Ports())
		}
		rt, err := docker.New(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("%w (or use --runtime noop)", err)
		}
		return rt, nil
	}
	// Loading refuses other names (the runtime key's check); this guards
	// callers that build agentSettings by hand.
	return nil, fmt.Errorf("unknown runtime %q: use --runtime noop", cfg.Runtime)
}

// newFakeRuntime makes the fake runtime, for tests: it offers the
// environments of agent.environments and writes its run log to
// agent.fake-run-log.
func newFakeRuntime(cfg agentSettings) (containers.Runtime, error) {
	envs := cfg.Environments
	if len(envs) == 0 {
		envs = []string{noop.DefaultEnvironment}
	}
	byType := make(map[string][]string)
	for _, e := range envs {
		typ, name, ok := strings.Cut(e, "/")
		if !ok || messages.ValidateID(typ) != nil || name == "" || strings.ContainsAny(name, "/ \t\n") {
			return nil, fmt.Errorf("fake: environment %q is not type/name (check --environments / INGO_AGENT_ENVIRONMENTS)", e)
		}
		if !slices.Contains(byType[typ], name) {
			byType[typ] = append(byType[typ], name)
		}
	}
	if cfg.FakeRunLog == "" {
		return fake.New(fake.Options{Environments: byType}), nil
	}
	f, err := fake.OpenRunLog(cfg.FakeRunLog)
	if err != nil {
		return nil, fmt.Errorf("%w (check agent.fake-run-log / INGO_AGENT_FAKE_RUN_LOG)", err)
	}
	return &closingRuntime{Runtime: fake.New(fake.Options{Environments: byType, RunLog: f}), file: f}, nil
}

// closingRuntime closes the fake runtime's run log after the runtime.
type closingRuntime struct {
	containers.Runtime
	file *os.File
	once sync.Once
}

func (c *closingRuntime) Close() error {
	err := c.Runtime.Close()
	c.once.Do(func() { err = errors.Join(err, c.file.Close()) })
	return err
}

// bundleCache opens the task bundle store in JetStream and the agent's
// bounded cache of it.
func (a *app) bundleCache(ctx context.Context, nc *nats.Conn) (*bundle.Cache, error) {
	store, err := bundle.OpenStore(nc, a.cfg.Prefix)
	if err != nil {
		return nil, err
	}
	stream := messages.NewSubjects(a.cfg.Prefix).BundleStream()
	// The backend creates the store (an agent may only read it): until
	// it has, wait for it. Any client's space answers an agent.
	for start, warned := time.Now(), time.Now(); ; {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = store.Check(cctx, "-")
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("open the task bundle store %q: %w (does the NATS server at %s run JetStream, and has a backend started? `ingo backend --embedded-nats` does both)",
				stream, err, natsconn.Redact(a.cfg.NATS.URL))
		}
		if time.Since(warned) >= 10*time.Second {
			warned = time.Now()
			a.log.Warn("waiting for the task bundle store, which the backend creates", "stream", stream, "waited", time.Since(start).Round(time.Second), "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	cache, err := bundle.NewCache(store, a.cfg.Agent.CacheDir, int64(a.cfg.Agent.CacheSize))
	if err != nil {
		return nil, fmt.Errorf("task bundle cache in %s: %w (choose another directory with --cache-dir)", a.cfg.Agent.CacheDir, err)
	}
	return cache, nil
}

// agentConfig is the agent's configuration with the subject prefix, and an
// id and a name from the host name where none is set.
func agentConfig(cfg *Config) (agent.Config, error) {
	c := cfg.Agent
	host := hostName()
	id := c.ID
	if id == "" {
		// The host name, stable across restarts: a restarted agent takes
		// the place of its previous process once the backend has dropped
		// it for silence (which re-queues its jobs), and then removes the
		// containers it left. Several agents of one installation on one
		// host need an id each; another installation's are told apart by
		// the installation label.
		id = host
	}
	name := c.Name
	if name == "" {
		name = host
	}
	if err := messages.ValidateID(id); err != nil {
		return agent.Config{}, fmt.Errorf("agent id: %w (set agent.id / INGO_AGENT_ID)", err)
	}
	ac := c.Config
	ac.ID, ac.Name, ac.Prefix = id, name, cfg.Prefix
	return ac, nil
}

// hostName is the host name reduced to what a subject token allows.
func hostName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "agent"
	}
	h, _, _ = strings.Cut(h, ".")
	var b strings.Builder
	for _, r := range h {
		ok := r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if ok {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "agent"
	}
	return b.String()[:min(b.Len(), messages.MaxIDLength)]
}

// sshPortsWarning is what an agent says at start when its SSH range is
// narrower than its slots, else "": each ssh_student call and SSH-debug
// job holds a port while it runs in a slot, so a course whose tasks all
// use ssh_student (a shell course) fills the ports before the slots at a
// deadline, and the calls past them fail.
func sshPortsWarning(slots int, ssh docker.SSHOptions) string {
	n := ssh.Ports()
	if n == 0 || n >= slots {
		return ""
	}
	return fmt.Sprintf("agent.ssh.port-min..port-max gives %d SSH ports for %d slots: past %d SSH sessions at once, an ssh_student call fails and an SSH-debug job goes back to the queue; give the range at least as many ports as agent.slots", n, slots, n)
}
