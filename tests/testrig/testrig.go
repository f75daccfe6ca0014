package testrig

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/backend/history"
	"github.com/ingo-grader/ingo/backend/journal"
	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// Options say what to start.
type Options struct {
	// Backend adjusts the backend's settings, which start from
	// backend.DefaultConfig with EnvironmentGrace 0 (a job for an
	// environment nobody offers fails at once).
	Backend func(*backend.Config)
	// Durable puts the backend on a JetStream journal, which a backend
	// started later (StartBackend) replays.
	Durable bool
	// Agents to start; none: one agent "a1" with one slot.
	Agents []Agent
}

// Agent is one agent to start.
type Agent struct {
	Config agent.Config
	// Runtime; nil: the fake runtime offering docker/default.
	Runtime containers.Runtime
}

// System is a running in-process ingo.
type System struct {
	t    testing.TB
	opts Options
	// URL is the NATS server's.
	URL         string
	stopBackend func()
}

// Start starts NATS, the backend and the agents.
func Start(t testing.TB, opts Options) *System {
	t.Helper()
	s := &System{t: t, opts: opts, URL: testutil.StartNATS(t).URL}
	s.StartBackend(opts.Durable)
	agents := opts.Agents
	if len(agents) == 0 {
		agents = []Agent{{Config: agent.Config{ID: "a1", Slots: 1}}}
	}
	// The bundle store, as `ingo backend` makes it on start.
	if _, err := bundle.EnsureStore(context.Background(), s.Connect("bundle-store"), "", bundle.StoreConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		nc := s.Connect("agent-" + a.Config.ID)
		cache, err := bundle.OpenCache(nc, "", t.TempDir(), 16<<20)
		if err != nil {
			t.Fatal(err)
		}
		rt := a.Runtime
		if rt == nil {
			rt = fake.New(fake.Options{Environments: map[string][]string{"docker": {"default"}}})
		}
		ag, err := agent.New(nc, rt, cache, a.Config, testutil.Logger(t).With("component", "agent", "agent", a.Config.ID))
		if err != nil {
			t.Fatal(err)
		}
		testutil.Run(t, "agent "+a.Config.ID, ag.Run)
	}
	return s
}

// Connect opens a connection to the system's NATS (ingo's reconnect
// policy, a short wait), closed when the test ends.
func (s *System) Connect(name string) *nats.Conn {
	s.t.Helper()
	nc, err := natsconn.Connect(natsconn.Options{URL: s.URL, Name: name, Log: testutil.Logger(s.t).With("conn", name),
		ReconnectWait: 50 * time.Millisecond, Creds: testutil.Superuser(s.t)})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(nc.Close)
	return nc
}

// StartBackend starts a backend, in memory or on the journal; one runs
// at a time (StopBackend first).
func (s *System) StartBackend(durable bool) {
	t := s.t
	t.Helper()
	nc := s.Connect("backend")
	cfg := backend.DefaultConfig()
	cfg.EnvironmentGrace = 0
	if s.opts.Backend != nil {
		s.opts.Backend(&cfg)
	}
	closeHistory := func() {}
	if durable {
		j, err := journal.Open(context.Background(), nc, journal.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Journal = j
		h, err := history.Open(context.Background(), nc, history.Options{})
		if err != nil {
			t.Fatal(err)
		}
		hs, err := h.Serve(nc)
		if err != nil {
			t.Fatal(err)
		}
		cfg.History = h
		closeHistory = func() { hs.Close(); h.Close() }
	}
	b, err := backend.New(nc, cfg, testutil.Logger(t).With("component", "backend"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	stopped := false
	s.stopBackend = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("backend: %v", err)
			}
		case <-time.After(testutil.RunWait):
			t.Errorf("the backend did not stop within %v", testutil.RunWait)
		}
		closeHistory()
		nc.Close()
	}
	stop := s.stopBackend
	t.Cleanup(stop)
}

// StopBackend stops the running backend.
func (s *System) StopBackend() {
	if s.stopBackend == nil {
		panic("testrig: no backend to stop")
	}
	s.stopBackend()
}
