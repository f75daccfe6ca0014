package main

import (
	"testing"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/messages"
)

// TestDefaults_MatchComponents: the CLI's defaults (internal/config) are the
// components' own, so that `ingo backend` with no settings behaves like
// backend.New with DefaultConfig, and so on.
func TestDefaults_MatchComponents(t *testing.T) {
	t.Parallel()
	d := config.Defaults()

	if got, want := backendConfig(d), backend.DefaultConfig(); got != want {
		t.Errorf("backend settings:\n got  %+v\n want %+v", got, want)
	}

	ac, err := agentConfig(d)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"agent heartbeat", ac.HeartbeatInterval, agent.DefaultHeartbeatInterval},
		{"agent result retry", ac.ResultRetry, agent.DefaultResultRetry},
		{"agent cleanup", ac.CleanupInterval, agent.DefaultCleanupInterval},
		{"agent max limits", ac.MaxLimits, agent.DefaultMaxLimits},
		{"client ping", d.Client.PingInterval, frontendclient.DefaultPingInterval},
		{"client request timeout", d.Client.RequestTimeout, frontendclient.DefaultRequestTimeout},
		{"prefix", d.Prefix, messages.DefaultPrefix},
	}
	// hard-time 0 stands for "three times the CPU time", which is what the
	// agent's default is.
	def := ac.DefaultLimits
	def.HardTime = 3 * def.Time
	checks = append(checks, struct {
		name      string
		got, want any
	}{"agent default limits", def, agent.DefaultJobLimits})
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: CLI default %+v, component default %+v", c.name, c.got, c.want)
		}
	}
}
