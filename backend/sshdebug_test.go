package backend

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

func sshJob(id string) *messages.ClientNewJob {
	j := newJob(id, "default", 0)
	j.Debug = messages.DebugSSH
	return j
}

// TestSSHDebug_BoundPerClient: an SSH-debug job holds one of an agent's
// few SSH ports and a grading slot for up to 30 minutes, so one frontend
// submitting many took every port of every agent, and every other
// course's teachers could debug no more. A frontend's SSH-debug jobs
// beyond backend.max-ssh-debug-per-client (waiting and running) are
// refused, naming the cap and its setting; its ordinary jobs, another
// frontend's SSH-debug jobs and an admin's pass.
func TestSSHDebug_BoundPerClient(t *testing.T) {
	const all, own = "backend.max-ssh-debug-per-client ", "backend.max-ssh-debug-per-clients "
	tests := []struct {
		name   string
		tweak  func(*Config)
		admin  bool
		accept int    // SSH-debug jobs queued before one is refused; -1: none refused
		key    string // the setting the refusal names
	}{
		{"the default bound", nil, false, DefaultMaxSSHDebugPerClient, all},
		{"a bound of 1", func(c *Config) { c.MaxSSHDebugPerClient = 1 }, false, 1, all},
		{"no bound", func(c *Config) { c.MaxSSHDebugPerClient = 0 }, false, -1, ""},
		{"an admin", nil, true, -1, ""},
		{"the client's own bound", func(c *Config) { c.MaxSSHDebugPerClients = map[string]string{"evil": "3"} }, false, 3, own},
		{"the client's own, unbounded", func(c *Config) { c.MaxSSHDebugPerClients = map[string]string{"evil": "0"} }, false, -1, ""},
		{"another client's own bound", func(c *Config) { c.MaxSSHDebugPerClients = map[string]string{"victim": "5"} }, false, DefaultMaxSSHDebugPerClient, all},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(c *Config) {
				c.EnvironmentGrace = time.Hour // no agent: everything waits
				if tc.tweak != nil {
					tc.tweak(c)
				}
			})
			evil, victim := r.client("evil"), r.client("victim")
			if tc.admin {
				evil = r.admin("evil")
			}
			n := tc.accept
			if n < 0 {
				n = 6
			}
			for i := range n {
				evil.submit(sshJob(fmt.Sprintf("e%d", i)))
			}
			if tc.accept >= 0 {
				evil.send(sshJob("over"))
				e := next[*messages.Error](evil)
				if e.Code != messages.CodeQueueFull || e.JobID != "over" ||
					!strings.Contains(e.Text, tc.key) || !strings.Contains(e.Text, fmt.Sprintf("has %d SSH-debug jobs", tc.accept)) {
					t.Fatalf("SSH-debug job %d of one frontend: %+v, want queue_full naming the cap", tc.accept+1, e)
				}
			}
			evil.submit(newJob("ordinary", "default", 0)) // grading jobs are not bounded
			debug := newJob("debug-on", "default", 0)
			debug.Debug = messages.DebugOn // stdout/stderr: no port
			evil.submit(debug)
			victim.submit(sshJob("v1")) // another frontend's own bound
		})
	}
}

// TestSSHDebug_BoundSettingChecked: a per-client bound that is not a
// whole number >= 0 is refused when the backend starts, naming the
// client.
func TestSSHDebug_BoundSettingChecked(t *testing.T) {
	for _, v := range []string{"many", "-1", "2.5"} {
		cfg := DefaultConfig()
		cfg.MaxSSHDebugPerClients = map[string]string{"webapp": v}
		if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), "webapp") {
			t.Errorf("bound %q: Check %v, want a problem naming webapp", v, err)
		}
	}
	// Not a client id: its bound would never apply.
	bad := DefaultConfig()
	bad.MaxSSHDebugPerClients = map[string]string{"web app": "3"}
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), "not a client id") {
		t.Errorf("a bound for %q: Check %v, want a problem saying it is not a client id", "web app", err)
	}
	cfg := DefaultConfig()
	cfg.MaxSSHDebugPerClient = -1
	if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), "max-ssh-debug-per-client") {
		t.Errorf("a negative bound: Check %v, want a problem naming it", err)
	}
}

// TestSSHDebug_BoundCountsRunningAndFreesAtTheEnd: the bound counts the
// jobs on agents too (they hold the ports), and a job that ends, killed
// while waiting or finished by its agent, makes room for another.
func TestSSHDebug_BoundCountsRunningAndFreesAtTheEnd(t *testing.T) {
	r := newRig(t, func(c *Config) { c.MaxSSHDebugPerClient = 2 })
	a := r.agent("a1", 1, "docker/default")
	c := r.client("c1")
	c.submit(sshJob("s1"))
	running := a.take()
	c.submit(sshJob("s2")) // waits: the agent's one slot is taken
	refused := func(id string) {
		t.Helper()
		c.send(sshJob(id))
		if e := next[*messages.Error](c); e.Code != messages.CodeQueueFull || e.JobID != id {
			t.Fatalf("%s over the bound: %+v, want queue_full", id, e)
		}
	}
	refused("s3")

	c.send(&messages.ClientKillJob{JobID: "s2"}) // waiting: ends at once
	if d := next[*messages.BackendJobDone](c); d.JobID != "s2" {
		t.Fatalf("kill: done %s, want s2", d.JobID)
	}
	c.submit(sshJob("s3"))
	refused("s4")

	a.finish(running, messages.StatusSuccess)
	if d := next[*messages.BackendJobDone](c); d.JobID != running.JobID {
		t.Fatalf("done %s, want %s", d.JobID, running.JobID)
	}
	c.submit(sshJob("s4"))
}

// TestSSHDebug_BoundSurvivesReplay: a restarted backend counts the
// SSH-debug jobs it replays, from their heads alone (a replay leaves the
// descriptions in the journal), so a restart does not reset the bound.
func TestSSHDebug_BoundSurvivesReplay(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxSSHDebugPerClient = 2
	b, err := New(nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"s1", "s2", "g1"} {
		h := HeadOf(newJob(id, "default", 0))
		h.SSHDebug = id != "g1"
		b.apply(&JobQueued{Head: h, ClientID: "c1", Seq: uint64(i + 1), At: time.Now()})
	}
	if e := b.overSSHDebug("c1", false, sshJob("s3")); e == nil {
		t.Fatal("a third SSH-debug job after a replay of two was not refused")
	}
	if e := b.overSSHDebug("c2", false, sshJob("s3")); e != nil {
		t.Fatalf("another client's job refused: %v", e)
	}
	b.apply(&JobFinished{Result: &messages.BackendJobDone{JobID: "s1"}, At: time.Now()})
	if e := b.overSSHDebug("c1", false, sshJob("s3")); e != nil {
		t.Fatalf("refused once one of the two ended: %v", e)
	}
	b.apply(&JobFinished{Result: &messages.BackendJobDone{JobID: "s2"}, At: time.Now()})
	b.apply(&JobFinished{Result: &messages.BackendJobDone{JobID: "g1"}, At: time.Now()})
	if n := len(b.sshDebug); n != 0 {
		t.Fatalf("no live job, and %d clients still counted: %v", n, b.sshDebug)
	}
}
