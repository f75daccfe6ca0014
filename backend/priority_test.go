package backend

import (
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// TestPriority_FrontendsBoundedToTheNormalOne: priority comes before the
// fair share, so a frontend that could send a more urgent priority than
// the normal one (0; lower runs first) would starve every other course.
// A frontend's job more urgent than its bound is refused, naming the
// bound and its setting; less urgent ones (INGInious' replays, 1) pass;
// an admin may use any; the operator may lower the bound, for all
// frontends or for one.
func TestPriority_FrontendsBoundedToTheNormalOne(t *testing.T) {
	tests := []struct {
		name   string
		tweak  func(*Config)
		admin  bool
		prio   int
		refuse string // a text the refusal names; "": queued
	}{
		{"normal priority", nil, false, 0, ""},
		{"a replay's, less urgent", nil, false, 1, ""},
		{"more urgent", nil, false, -1, "backend.frontend-min-priority"},
		{"far more urgent", nil, false, -1000, "may use 0"},
		{"an admin's", nil, true, -1000, ""},
		{"within the bound for all", func(c *Config) { c.FrontendMinPriority = -2 }, false, -2, ""},
		{"beyond the bound for all", func(c *Config) { c.FrontendMinPriority = -2 }, false, -3, "may use -2"},
		{"within the client's own", func(c *Config) { c.FrontendMinPriorities = map[string]string{"c1": "-5"} }, false, -5, ""},
		{"beyond the client's own", func(c *Config) { c.FrontendMinPriorities = map[string]string{"c1": "-5"} }, false, -6, "backend.frontend-min-priorities"},
		{"another client's bound", func(c *Config) { c.FrontendMinPriorities = map[string]string{"c2": "-5"} }, false, -1, "may use 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(c *Config) {
				c.EnvironmentGrace = time.Hour // no agent: everything waits
				if tc.tweak != nil {
					tc.tweak(c)
				}
			})
			c := r.client("c1")
			if tc.admin {
				c = r.admin("c1")
			}
			j := newJob("j1", "default", tc.prio)
			if tc.refuse == "" {
				c.submit(j)
				return
			}
			c.send(j)
			if e := next[*messages.Error](c); e.Code != messages.CodeBadRequest || e.JobID != "j1" || !strings.Contains(e.Text, tc.refuse) {
				t.Fatalf("priority %d: %+v, want a refusal naming %q", tc.prio, e, tc.refuse)
			}
		})
	}
}

// TestPriority_BoundSettingChecked: a per-client bound that is not a
// whole number is refused when the backend starts, naming the client.
func TestPriority_BoundSettingChecked(t *testing.T) {
	cfg := DefaultConfig()
	cfg.FrontendMinPriorities = map[string]string{"webapp": "urgent"}
	err := cfg.Check()
	if err == nil || !strings.Contains(err.Error(), "webapp") {
		t.Fatalf("Check: %v, want a problem naming webapp", err)
	}
}
