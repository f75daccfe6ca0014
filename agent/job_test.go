package agent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

func TestAgent_Job_Results(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	e.backend.autoAck.Store(true)
	tests := []struct {
		name   string
		fake   map[string]any
		edit   func(*messages.BackendNewJob)
		status messages.Status
		text   string
		grade  float64
		state  string
	}{
		{name: "success", status: messages.StatusSuccess, text: "fake: success", grade: 100},
		{name: "failed rounds grade", fake: map[string]any{"result": "failed", "grade": 33.33333, "text": "half", "state": "new"},
			status: messages.StatusFailed, text: "half", grade: 33.33, state: "new"},
		{name: "overflow", fake: map[string]any{"oom": true}, status: messages.StatusOverflow, text: "fake: overflow"},
		{name: "timeout", fake: map[string]any{"timeout": true}, status: messages.StatusTimeout, text: "fake: timeout"},
		{name: "failure text reaches the student", fake: map[string]any{"failure": "The image is broken."},
			status: messages.StatusCrash, text: "The image is broken."},
		{name: "other errors get a generic text and keep the state", fake: map[string]any{"crash": "/var/lib/secret exploded"},
			edit: func(j *messages.BackendNewJob) { j.InputData["@state"] = "before" }, status: messages.StatusCrash, text: textInternal, state: "before"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "job-" + string(rune('a'+i))
			j := newJob(id, tt.fake)
			if tt.edit != nil {
				tt.edit(j)
			}
			e.submit(t, j)
			m := e.done(t, id)
			if m.Result.Status != tt.status || m.Result.Text != tt.text || m.Grade != tt.grade || m.State != tt.state || m.Attempt != 1 {
				t.Errorf("got %s, want %s %q grade %v state %q", status(m), tt.status, tt.text, tt.grade, tt.state)
			}
		})
	}
	// An Ack forgets its result, then counts it: both are awaited.
	testutil.Eventually(t, wait, func() bool {
		s := e.agent.Stats()
		return s.PendingResults == 0 && s.ResultsAcked == uint64(len(tests))
	}, "results not forgotten after Ack")
	if s := e.agent.Stats(); s.Results != uint64(len(tests)) || s.ResultsAcked != uint64(len(tests)) {
		t.Errorf("stats %+v", s)
	}
}

func TestAgent_Job_Limits(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	e.backend.autoAck.Store(true)
	d, mx := DefaultJobLimits, DefaultMaxLimits
	tests := []struct {
		name string
		in   messages.Limits
		want messages.Limits
	}{
		{"defaults", messages.Limits{}, d},
		{"time sets hard time", messages.Limits{Time: 5}, messages.Limits{Time: 5, HardTime: 15, Memory: d.Memory, Processes: d.Processes, Output: d.Output, Disk: d.Disk}},
		{"given values", messages.Limits{Time: 2, HardTime: 4, Memory: 100, Processes: 7, Output: 1000, Disk: 9}, messages.Limits{Time: 2, HardTime: 4, Memory: 100, Processes: 7, Output: 1000, Disk: 9}},
		{"capped", messages.Limits{Time: 1e6, Memory: 1e9, Processes: 1e9, Output: 1e12, Disk: 1e9}, mx},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "limits-" + string(rune('a'+i))
			j := newJob(id, nil)
			j.EnvironmentParameters.Limits = tt.in
			e.submit(t, j)
			m := e.done(t, id)
			got := m.Custom["echo"].(map[string]any)["limits"].(map[string]any)
			want := map[string]any{"time": tt.want.Time, "hard_time": tt.want.HardTime, "memory": tt.want.Memory,
				"processes": tt.want.Processes, "output": tt.want.Output, "disk": tt.want.Disk}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("limit %s = %v (%T), want %v", k, got[k], got[k], v)
				}
			}
		})
	}
}

func TestAgent_Job_DataTravels(t *testing.T) {
	t.Parallel()
	e := start(t, options{bundles: bundles{"course1/sha256:feed": []byte("archive!")}})
	e.backend.autoAck.Store(true)
	j := newJob("data", nil)
	j.TaskBundle, j.Client = "sha256:feed", "course1"
	j.Attempt = 2
	e.submit(t, j)
	echo := e.done(t, "data").Custom["echo"].(map[string]any)
	if echo["task_bundle"] != "sha256:feed" || echo["task_bundle_bytes"] != int64(8) || echo["attempt"] != int64(2) || echo["agent_id"] != "agent1" {
		t.Errorf("echo %v", echo)
	}
	if input := echo["input"].(map[string]any); input["q1"] != "hello" {
		t.Errorf("input %v", input)
	}

}

// bundles holds bundles by "owner/digest".
type bundles map[string][]byte

func (b bundles) Get(_ context.Context, owner, digest string, _ uint64) (containers.TaskBundle, error) {
	data, ok := b[owner+"/"+digest]
	if !ok {
		return nil, errors.New("no such bundle")
	}
	return bundle{digest, data}, nil
}

type bundle struct {
	digest string
	data   []byte
}

func (b bundle) Digest() string               { return b.digest }
func (b bundle) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.data)), nil }

func TestAgent_Job_ResentUntilAck(t *testing.T) {
	t.Parallel()
	e := start(t, options{cfg: Config{ResultRetry: time.Millisecond}})
	e.submit(t, newJob("r", nil))
	first := e.done(t, "r")
	again := e.done(t, "r")
	if status(first) != status(again) {
		t.Errorf("resent result differs: %s then %s", status(first), status(again))
	}
	e.ack(again)
	testutil.Eventually(t, wait, func() bool { return e.agent.Stats().PendingResults == 0 }, "result still pending after Ack")
	if s := e.agent.Stats(); s.Results != 1 || s.ResultsResent == 0 || s.ResultsAcked != 1 {
		t.Errorf("stats %+v", s)
	}
	if e.rt.Stats().Calls != 1 {
		t.Errorf("the job ran %d times; results are resent, never recomputed", e.rt.Stats().Calls)
	}
}

func TestAgent_Job_ErrorStopsResending(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code   messages.ErrorCode
		forget bool
	}{
		{messages.CodeStaleAttempt, true},
		{messages.CodeUnknownJob, true},
		{messages.CodeUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			t.Parallel()
			e := start(t, options{cfg: Config{ResultRetry: time.Hour}})
			e.submit(t, newJob("r", nil))
			e.done(t, "r")
			e.backend.toAgent(e.cfg.ID, &messages.Error{Code: tt.code, JobID: "r", Attempt: 1, Text: "no"})
			testutil.Eventually(t, wait, func() bool { return e.agent.Stats().BackendErrors == 1 }, "Error not handled")
			if got := e.agent.Stats().PendingResults == 0; got != tt.forget {
				t.Errorf("result forgotten = %v, want %v", got, tt.forget)
			}
		})
	}
}

func TestAgent_Job_ResentAfterHello(t *testing.T) {
	t.Parallel()
	e := start(t, options{cfg: Config{ResultRetry: time.Hour}})
	e.submit(t, newJob("r", nil))
	e.done(t, "r")
	e.backend.toAgent(e.cfg.ID, &messages.Unknown{})
	h, _ := expect[*messages.AgentHello](t, e.backend, nil)
	if len(h.RunningJobs) != 1 || h.RunningJobs[0].JobID != "r" {
		t.Errorf("hello does not list the unacknowledged result: %v", h.RunningJobs)
	}
	e.ack(e.done(t, "r"))
}

func TestAgent_Job_Duplicate(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	j := newJob("dup", map[string]any{"hang": true})
	e.submit(t, j)
	testutil.Eventually(t, wait, func() bool { return e.rt.Stats().Active == 1 }, "job not running")
	e.backend.toAgent(e.cfg.ID, j)
	testutil.Eventually(t, wait, func() bool { return e.agent.Stats().JobsDuplicate == 1 }, "duplicate not counted")
	if n := e.rt.Stats().Calls; n != 1 || len(e.agent.Running()) != 1 {
		t.Errorf("runtime ran the attempt %d times; running %v", n, e.agent.Running())
	}
	// Another attempt of the same job is a different attempt.
	j2 := newJob("dup", map[string]any{"hang": true})
	j2.Attempt = 2
	e.submit(t, j2)
	if got := e.agent.Running(); len(got) != 2 {
		t.Errorf("Running() = %v", got)
	}
}

// TestAgent_Job_FinishedAttemptSentAgainIsHandedBack: a backend that
// restarted without its journal numbers a job's attempts from 1 again, and
// may send an agent an attempt it has finished and forgotten. Ignored as
// a duplicate, the job waited for the backend's confirmation timeout (30
// s) before it ran; handed back, the backend re-queues it at once.
func TestAgent_Job_FinishedAttemptSentAgainIsHandedBack(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	j := newJob("again", nil)
	e.submit(t, j)
	e.ack(e.done(t, "again"))
	testutil.Eventually(t, wait, func() bool { return e.agent.pendingCount() == 0 }, "result not forgotten after its ack")
	e.backend.toAgent(e.cfg.ID, j)
	if r := e.refused(t, "again"); r.Attempt != 1 || r.Reason != textRanAlready {
		t.Errorf("refusal: attempt %d %q", r.Attempt, r.Reason)
	}
	if n := e.rt.Stats().Calls; n != 1 {
		t.Errorf("runtime ran the attempt %d times", n)
	}
}

func TestAgent_Job_OverCommitRefused(t *testing.T) {
	t.Parallel()
	e := start(t, options{cfg: Config{Slots: 2}})
	e.submit(t, newJob("a", map[string]any{"hang": true}))
	e.submit(t, newJob("b", map[string]any{"hang": true}))
	testutil.Eventually(t, wait, func() bool { return e.rt.Stats().Active == 2 }, "jobs not running")
	e.backend.toAgent(e.cfg.ID, newJob("c", nil))
	if r := e.refused(t, "c"); r.Reason != textNoSlot {
		t.Errorf("over-committed job: %q", r.Reason)
	}
	if s := e.rt.Stats(); s.MaxActive != 2 || s.Calls != 2 {
		t.Errorf("runtime saw %d calls, %d at once; want 2, 2", s.Calls, s.MaxActive)
	}
	if e.agent.Stats().JobsOverCommit != 1 {
		t.Errorf("over-commit not counted")
	}
	// A slot frees when a job ends.
	e.backend.toAgent(e.cfg.ID, &messages.BackendKillJob{JobID: "a", Attempt: 1})
	e.done(t, "a")
	e.submit(t, newJob("d", nil))
	if m := e.done(t, "d"); m.Result.Status != messages.StatusSuccess {
		t.Errorf("job after a slot freed: %s", status(m))
	}
}

func TestAgent_Job_SSHDebug(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	e.submit(t, newJob("ssh", map[string]any{"ssh": true}))
	m, _ := expect[*messages.AgentJobSSHDebug](t, e.backend, nil)
	if m.JobID != "ssh" || m.Attempt != 1 || m.Port != 2222 || m.Password != "fake-password" {
		t.Errorf("ssh debug %+v", m)
	}
	e.ack(e.done(t, "ssh"))
}

func TestAgent_Malformed_KeepsServing(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	subject := e.backend.subj.Agent(e.cfg.ID)
	for _, data := range [][]byte{nil, []byte("garbage"), {0xd9, 0x9c, 0x40, 0xa0}} { // the last: tag 40000, not a message type
		// A reply subject is never answered: the agent may publish on its
		// own backend subject only.
		if err := e.backend.nc.PublishMsg(&nats.Msg{Subject: subject, Reply: "elsewhere", Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	e.backend.toAgent(e.cfg.ID, &messages.ClientHello{Name: "lost"})                                                            // unexpected here
	e.backend.toAgent(e.cfg.ID, &messages.BackendNewJob{JobDescription: messages.JobDescription{JobID: "bad id!"}, Attempt: 1}) // invalid
	e.backend.toAgent(e.cfg.ID, &messages.BackendKillJob{JobID: "x", Attempt: 0})                                               // invalid
	e.backend.autoAck.Store(true)
	e.submit(t, newJob("fine", nil))
	if m := e.done(t, "fine"); m.Result.Status != messages.StatusSuccess {
		t.Errorf("after garbage: %s", status(m))
	}
	if s := e.agent.Stats(); s.Malformed != 5 || s.Unexpected != 1 {
		t.Errorf("stats: malformed %d unexpected %d, want 5 and 1", s.Malformed, s.Unexpected)
	}
}

// TestAgent_GarbageFloodIsNotALogFlood: messages dropped on the agent's
// subject are counted in full and logged a few lines a minute. A
// frontend can have the NATS server send there the acknowledgements of
// its own publishes (their reply subject is its choice): before, each
// wrote two lines.
func TestAgent_GarbageFloodIsNotALogFlood(t *testing.T) {
	t.Parallel()
	log, lines := testutil.CountingLogger()
	e := start(t, options{log: log})
	subject := e.backend.subj.Agent(e.cfg.ID)
	const n = 1000
	for range n {
		if err := e.backend.nc.Publish(subject, []byte(`{"stream":"INGO_BUNDLES","seq":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, wait, func() bool { return e.agent.Stats().Malformed == n }, "the garbage was not all counted")
	if got := lines.Load(); got > 150 {
		t.Fatalf("%d lines of log for %d undecodable messages", got, n)
	}
}
