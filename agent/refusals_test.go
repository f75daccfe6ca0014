package agent

import (
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestAgent_RefusalsHandBack: a job the agent cannot take, for a reason of
// its own (every slot busy, no environment, no task files, not enough
// memory), is handed back with AgentJobRefused, which the backend
// re-queues, never a crash result; nothing of it reaches the runtime. A
// later kill or repeat of that attempt is ignored.
func TestAgent_RefusalsHandBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		bundles Bundles
		edit    func(*messages.BackendNewJob)
		busy    bool // one hanging job holds the only slot first
		reason  string
		started bool // AgentJobStarted came first: the refusal came later
	}{
		{name: "every slot busy", cfg: Config{Slots: 1}, busy: true, reason: textNoSlot},
		{name: "environment missing", edit: func(j *messages.BackendNewJob) { j.Environment = "cobol" },
			reason: "The environment docker/cobol is not available on this agent.", started: true},
		{name: "task files without a bundle store", edit: func(j *messages.BackendNewJob) { j.TaskBundle = "sha256:00" },
			reason: textNoBundles, started: true},
		{name: "task files unavailable", bundles: bundles{}, edit: func(j *messages.BackendNewJob) { j.TaskBundle = "sha256:dead" },
			reason: textNoTaskFiles, started: true},
		{name: "another client's task files", bundles: bundles{"course1/sha256:feed": []byte("archive!")},
			edit:   func(j *messages.BackendNewJob) { j.TaskBundle, j.Client = "sha256:feed", "course2" },
			reason: textNoTaskFiles, started: true},
		{name: "more memory than the agent has", cfg: Config{Memory: 300}, edit: func(j *messages.BackendNewJob) { j.EnvironmentParameters.Limits.Memory = 400 },
			reason: "The job asks for 400 MiB of memory; this agent has 300 MiB for jobs.", started: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, options{cfg: tc.cfg, bundles: tc.bundles})
			if tc.busy {
				e.submit(t, newJob("busy", map[string]any{"hang": true}))
				testutil.Eventually(t, wait, func() bool { return e.rt.Stats().Active == 1 }, "busy job not running")
			}
			j := newJob("refused", nil)
			if tc.edit != nil {
				tc.edit(j)
			}
			e.backend.toAgent(e.cfg.ID, j)
			if tc.started {
				expect(t, e.backend, func(m *messages.AgentJobStarted) bool { return m.JobID == "refused" })
			}
			until(t, e.backend, func(m messages.Message) bool {
				r, ok := m.(*messages.AgentJobRefused)
				if ok && (r.Reason != tc.reason || r.Attempt != 1) {
					t.Errorf("refusal %+v, want reason %q", r, tc.reason)
				}
				return ok
			}, func(m messages.Message) bool { return about("refused")(m) && m.MessageName() != "AgentJobRefused" })

			// The attempt is over: a kill of it and the same job again are
			// ignored; the answer lets the agent forget it.
			e.backend.toAgent(e.cfg.ID, &messages.BackendKillJob{JobID: "refused", Attempt: 1})
			e.backend.toAgent(e.cfg.ID, j)
			e.backend.toAgent(e.cfg.ID, &messages.Ack{JobID: "refused", Attempt: 1})
			testutil.Eventually(t, wait, func() bool { return e.agent.Stats().PendingResults == 0 }, "refusal not forgotten after Ack")
			s := e.agent.Stats()
			if s.Refusals != 1 || s.Results != 0 || s.KillsIgnored != 1 || s.JobsDuplicate != 1 {
				t.Errorf("agent %+v: want one refusal, no result, the kill and the repeat ignored", s)
			}
			want := 0
			if tc.busy {
				want = 1
			}
			if n := e.rt.Stats().Calls; n != want {
				t.Errorf("the runtime ran %d jobs, want %d", n, want)
			}
		})
	}
}
