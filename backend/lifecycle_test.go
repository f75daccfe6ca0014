package backend

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

func TestKillWaiting(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	a := r.agent("a", 1, "docker/default")
	c.submit(newJob("busy", "default", 0))
	c.submit(newJob("victim", "default", 0))
	a.take()
	c.send(&messages.ClientKillJob{JobID: "victim"})
	d := next[*messages.BackendJobDone](c)
	if d.JobID != "victim" || d.Result.Status != messages.StatusKilled || d.State != "s0" {
		t.Fatalf("got %+v", d)
	}
	// It left the queue at once: the snapshot no longer lists it.
	c.send(&messages.ClientGetQueue{})
	if q := next[*messages.BackendGetQueue](c); len(q.JobsWaiting) != 0 || len(q.JobsRunning) != 1 {
		t.Fatalf("snapshot %+v", q)
	}
	// A second kill: the job is finished.
	c.send(&messages.ClientKillJob{JobID: "victim"})
	if e := next[*messages.Error](c); e.Code != messages.CodeUnknownJob {
		t.Fatalf("got %+v", e)
	}
}

func TestKillRunningAndDuringStart(t *testing.T) {
	for _, confirmed := range []bool{true, false} {
		name := map[bool]string{true: "running", false: "before the agent confirmed"}[confirmed]
		t.Run(name, func(t *testing.T) {
			r := newRig(t, nil)
			c := r.client("c1")
			a := r.agent("a", 1, "docker/default")
			c.submit(newJob("k", "default", 0))
			var j *messages.BackendNewJob
			if confirmed {
				j = a.take()
			} else {
				j = next[*messages.BackendNewJob](a.peer)
			}
			c.send(&messages.ClientKillJob{JobID: "k"})
			kill := next[*messages.BackendKillJob](a.peer)
			if kill.JobID != "k" || kill.Attempt != j.Attempt || kill.State != "s0" {
				t.Fatalf("kill %+v", kill)
			}
			// The slot stays taken until the agent reports.
			c.submit(newJob("next", "default", 0))
			a.quiet(100 * time.Millisecond)
			a.send(&messages.AgentJobDone{JobID: "k", Attempt: j.Attempt, JobResult: messages.NewJobResult(messages.StatusKilled, "killed", "s0")})
			if d := next[*messages.BackendJobDone](c); d.JobID != "k" || d.Result.Status != messages.StatusKilled {
				t.Fatalf("got %+v", d)
			}
			if n := next[*messages.BackendNewJob](a.peer); n.JobID != "next" {
				t.Fatalf("got %s", n.JobID)
			}
		})
	}
}

func TestAgentLostJobRequeuedAndLateResultRefused(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	a := r.agent("a", 1, "docker/default")
	c.submit(newJob("j", "default", 0))
	first := a.take()
	b := r.agent("b", 1, "docker/default")
	a.silence()
	second := b.take()
	if second.JobID != "j" || second.Attempt != 2 {
		t.Fatalf("second attempt %+v", second)
	}
	// The lost agent comes back with its late result: refused, and told
	// to kill that attempt.
	a.finish(first, messages.StatusSuccess)
	if e := next[*messages.Error](a.peer); e.Code != messages.CodeStaleAttempt || e.Attempt != 1 {
		t.Fatalf("got %+v", e)
	}
	if k := next[*messages.BackendKillJob](a.peer); k.JobID != "j" || k.Attempt != 1 {
		t.Fatalf("got %+v", k)
	}
	b.finish(second, messages.StatusFailed)
	d := next[*messages.BackendJobDone](c)
	if d.Result.Status != messages.StatusFailed || d.Result.Text != "by b" {
		t.Fatalf("got %+v", d)
	}
	c.quiet(150 * time.Millisecond)
	if s := r.b.Stats(); s.Requeued != 1 || s.AgentsLost != 1 || s.StaleAttempts < 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMaxAttemptsThenCrash(t *testing.T) {
	r := newRig(t, func(c *Config) { c.MaxAttempts = 1 })
	c := r.client("c1")
	a := r.agent("a", 1, "docker/default")
	c.submit(newJob("j", "default", 0))
	a.take()
	a.silence()
	d := next[*messages.BackendJobDone](c)
	if d.Result.Status != messages.StatusCrash || d.State != "s0" {
		t.Fatalf("got %+v", d)
	}
	t.Log(d.Result.Text)
}

func TestEnvironmentsFollowAgents(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	c.send(&messages.ClientHello{Name: "web", ProtocolVersion: messages.ProtocolVersion})
	envs := func() map[string][]string {
		t.Helper()
		for {
			select {
			case m := <-c.Inbox:
				if u, ok := m.(*messages.BackendUpdateEnvironments); ok {
					return u.AvailableEnvironments
				}
			case <-time.After(wait):
				t.Fatal("no environment update")
			}
		}
	}
	if e := envs(); len(e) != 0 {
		t.Fatalf("initial %v", e)
	}
	a := r.agent("a", 1, "docker/default", "docker/python")
	if e := envs(); len(e["docker"]) != 2 {
		t.Fatalf("after hello %v", e)
	}
	a.silence()
	if e := envs(); len(e) != 0 {
		t.Fatalf("after loss %v", e)
	}
}

func TestStartTimeoutRequeues(t *testing.T) {
	r := newRig(t, func(c *Config) { c.StartTimeout = 100 * time.Millisecond; c.MaxAttempts = 3 })
	c := r.client("c1")
	a := r.agent("a", 1, "docker/default")
	c.submit(newJob("j", "default", 0))
	lost := next[*messages.BackendNewJob](a.peer) // never confirmed
	if k := next[*messages.BackendKillJob](a.peer); k.Attempt != lost.Attempt {
		t.Fatalf("kill %+v", k)
	}
	again := a.take()
	if again.Attempt != 2 {
		t.Fatalf("attempt %d", again.Attempt)
	}
}

func TestReHelloReconciles(t *testing.T) {
	r := newRig(t, func(c *Config) { c.MaxAttempts = 3 })
	c := r.client("c1")
	a := r.agent("a", 3, "docker/default")
	for _, id := range []string{"kept", "forgotten", "inflight"} {
		c.submit(newJob(id, "default", 0))
	}
	kept, forgotten := a.take(), a.take()
	inflight := next[*messages.BackendNewJob](a.peer)
	// Same session: it reports "kept" and a job we never gave it; it saw
	// sequence numbers up to "forgotten" only.
	a.hello(3, []string{"docker/default"}, []messages.JobAttempt{{JobID: "kept", Attempt: 1}, {JobID: "ghost", Attempt: 1}}, forgotten.Seq)
	if k := next[*messages.BackendKillJob](a.peer); k.JobID != "ghost" {
		t.Fatalf("kill %+v", k)
	}
	// "forgotten" is re-queued and comes back as attempt 2; "inflight" was
	// sent after what the agent saw, so it stays assigned.
	if j := next[*messages.BackendNewJob](a.peer); j.JobID != "forgotten" || j.Attempt != 2 {
		t.Fatalf("got %+v", j)
	}
	a.finish(kept, messages.StatusSuccess)
	a.send(&messages.AgentJobStarted{JobID: inflight.JobID, Attempt: 1})
	a.finish(inflight, messages.StatusSuccess)
	got := map[string]bool{}
	for range 2 {
		got[next[*messages.BackendJobDone](c).JobID] = true
	}
	if !got["kept"] || !got["inflight"] {
		t.Fatalf("done %v", got)
	}

	// A new session means a restarted agent: once the old process has been
	// silent for the heartbeat timeout (a live one is not replaced, see
	// sessions_test.go), everything it ran is lost.
	a.silence()
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().AgentsLost == 1 }, "the silent process was never dropped")
	a.session = "a-s2"
	a.hello(3, []string{"docker/default"}, nil, 0)
	if j := next[*messages.BackendNewJob](a.peer); j.JobID != "forgotten" || j.Attempt != 3 {
		t.Fatalf("after restart %+v", j)
	}
}

func TestMalformedAndUnexpectedMessages(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	a := r.agent("a", 1, "docker/default")
	raw := testutil.Connect(t, r.nats.URL, "raw")
	garbage := [][]byte{nil, {0xff}, []byte("{\"json\": true}"), {0xd9, 0x9b, 0xdc, 0xa1, 0x61, 0x78, 0x01}, {0xc1, 0x00}}
	for _, g := range garbage {
		for _, p := range []*peer{c, a.peer} {
			if err := raw.PublishMsg(&nats.Msg{Subject: p.Target, Reply: p.Subject, Data: g}); err != nil {
				t.Fatal(err)
			}
			if e := next[*messages.Error](p); e.Code != messages.CodeMalformed {
				t.Fatalf("garbage %x: %+v", g, e)
			}
		}
	}
	// A valid message on the wrong subject, and one with a bogus sender.
	a.send(&messages.ClientGetQueue{})
	if e := next[*messages.Error](a.peer); e.Code != messages.CodeUnexpected {
		t.Fatalf("got %+v", e)
	}
	// A sender id no subject token can be (too long) is dropped and
	// counted: nobody can be answered.
	data, _ := messages.Encode(newJob("x", "default", 0))
	_ = raw.PublishMsg(&nats.Msg{Subject: r.subj.BackendClient(strings.Repeat("x", messages.MaxIDLength+1)), Reply: c.Subject, Data: data})
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().BadSender == 1 }, "bad sender not counted")
	// Wrong protocol version.
	c.send(&messages.ClientHello{Name: "old", ProtocolVersion: 99})
	if e := next[*messages.Error](c); e.Code != messages.CodeProtocolVersion {
		t.Fatalf("got %+v", e)
	}
	// Still serving.
	c.submit(newJob("after", "default", 0))
	a.finish(a.take(), messages.StatusSuccess)
	if d := next[*messages.BackendJobDone](c); d.JobID != "after" {
		t.Fatalf("got %+v", d)
	}
	if s := r.b.Stats(); s.Malformed != int64(2*len(garbage)) || s.Unexpected != 1 || s.BadSender != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestQueueSnapshot(t *testing.T) {
	r := newRig(t, nil)
	// An admin's snapshot: everybody's jobs (a frontend's is in trust_test).
	c, other := r.admin("c1"), r.client("c2")
	a := r.agent("a", 1, "docker/default")
	r.agent("p", 1, "docker/python")
	c.submit(newJob("run1", "default", 0))
	a.take()
	other.submit(newJob("w-low", "default", 3))
	c.submit(newJob("w-high", "default", 1))
	c.submit(newJob("w-high2", "default", 1))
	orphan := newJob("w-orphan", "java", 0)
	orphan.WaitForEnvironment = true
	orphan.EnvironmentParameters.Limits.Time = 7
	c.submit(orphan)
	c.send(&messages.ClientGetQueue{})
	q := next[*messages.BackendGetQueue](c)
	if len(q.JobsRunning) != 1 || q.JobsRunning[0].JobID != "run1" || !q.JobsRunning[0].IsMine ||
		q.JobsRunning[0].Agent != "agent a" || q.JobsRunning[0].MaxTime != -1 || q.JobsRunning[0].Info != "c/t" {
		t.Fatalf("running %+v", q.JobsRunning)
	}
	want := []struct {
		id     string
		pos    int
		reason messages.WaitReason
		mine   bool
	}{
		{"w-orphan", 1, messages.WaitNoAgent, true},
		{"w-high", 1, messages.WaitSlotsBusy, true},
		{"w-high2", 2, messages.WaitQueued, true},
		{"w-low", 3, messages.WaitLowerPriority, false},
	}
	if len(q.JobsWaiting) != len(want) {
		t.Fatalf("waiting %+v", q.JobsWaiting)
	}
	for i, w := range want {
		g := q.JobsWaiting[i]
		if g.JobID != w.id || g.Position != w.pos || g.Reason != w.reason || g.IsMine != w.mine {
			t.Errorf("waiting[%d] = %+v, want %+v", i, g, w)
		}
	}
	if q.JobsWaiting[0].MaxTime != 7 {
		t.Errorf("max time %v", q.JobsWaiting[0].MaxTime)
	}
	if len(q.Agents) != 2 || q.Agents[0].Running != 1 || q.Agents[1].Environments[0] != "docker/python" {
		t.Fatalf("agents %+v", q.Agents)
	}
}

func TestSilentClientForgotten(t *testing.T) {
	r := newRig(t, func(c *Config) { c.ClientTimeout = 200 * time.Millisecond })
	gone, waiting := r.client("gone"), r.client("waiting")
	gone.send(&messages.ClientHello{Name: "gone", ProtocolVersion: messages.ProtocolVersion})
	w := newJob("pending", "default", 0)
	w.WaitForEnvironment = true
	waiting.submit(w)
	time.Sleep(500 * time.Millisecond) // both silent past the timeout
	// The client without jobs was forgotten: a ping gets Unknown. The one
	// with a waiting job is kept, and still gets its result.
	gone.send(&messages.Ping{})
	next[*messages.Unknown](gone)
	waiting.send(&messages.Ping{})
	next[*messages.Pong](waiting)
	a := r.agent("a", 1, "docker/default")
	a.finish(a.take(), messages.StatusSuccess)
	if d := next[*messages.BackendJobDone](waiting); d.JobID != "pending" {
		t.Fatalf("got %+v", d)
	}
}

// When every agent offering an environment is lost, its waiting jobs end
// after OrphanTimeout instead of waiting forever; a job whose client asked
// to wait for the environment stays.
func TestOrphanedQueueFails(t *testing.T) {
	r := newRig(t, func(c *Config) { c.OrphanTimeout = 300 * time.Millisecond })
	c := r.client("c1")
	a := r.agent("a", 1, "docker/default")
	c.submit(newJob("running", "default", 0))
	c.submit(newJob("waiting", "default", 0))
	patient := newJob("patient", "default", 0)
	patient.WaitForEnvironment = true
	c.submit(patient)
	a.take()
	a.silence()
	got := map[string]messages.Status{}
	for range 2 {
		d := next[*messages.BackendJobDone](c)
		got[d.JobID] = d.Result.Status
	}
	// "running" was re-queued when its agent was lost, then orphaned too.
	if got["running"] != messages.StatusCrash || got["waiting"] != messages.StatusCrash {
		t.Fatalf("results %v", got)
	}
	c.send(&messages.ClientGetQueue{})
	if q := next[*messages.BackendGetQueue](c); len(q.JobsWaiting) != 1 || q.JobsWaiting[0].JobID != "patient" {
		t.Fatalf("waiting %+v", q.JobsWaiting)
	}
}

// An agent resends a result whose Ack was slow: the backend acks it again,
// quietly. It is not a stale attempt, nothing is killed, and the client
// still gets one result.
func TestResentResultAckedAgain(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	a := r.agent("a", 1, "docker/default")
	c.submit(newJob("j", "default", 0))
	j := a.take()
	a.finish(j, messages.StatusSuccess)
	next[*messages.BackendJobDone](c)
	a.finish(j, messages.StatusSuccess) // the resend
	acks := 0
	for _, m := range collect[messages.Message](a.peer, 300*time.Millisecond) {
		switch m := m.(type) {
		case *messages.Ack:
			if m.JobID == "j" {
				acks++
			}
		case *messages.Error, *messages.BackendKillJob:
			t.Fatalf("resend answered with %T %+v", m, m)
		}
	}
	if acks != 2 {
		t.Fatalf("%d acks for the result and its resend, want 2", acks)
	}
	c.quiet(100 * time.Millisecond)
	if s := r.b.Stats(); s.StaleAttempts != 0 || s.DuplicateResults != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// A submission the backend cannot decode but whose job id reads (its
// task_problems hold a map with an int key, as YAML reads "2:") is
// refused as that job's, so that its client ends it rather than waiting
// for an answer and resubmitting.
func TestMalformedSubmissionNamesItsJob(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	j := newJob("0b7e8cb1-7b0b-4c43-9cf4-44d1e2d5d0a1", "default", 0)
	j.TaskProblems = map[string]any{"p": map[any]any{2: []any{"dns.id"}}}
	c.send(j)
	if e := next[*messages.Error](c); e.Code != messages.CodeMalformed || e.JobID != j.JobID {
		t.Fatalf("got %+v, want a malformed refusal of %s", e, j.JobID)
	}
}

// A client's ping is answered with its Session, Pong or Unknown: the client
// matches each answer with the ping it answers (frontendclient), not with
// the oldest it has not heard of, which may have been lost in an outage.
func TestClientPingAnswerEchoesSession(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("echo")
	c.send(&messages.Ping{Session: "tag.1"})
	if u := next[*messages.Unknown](c); u.Session != "tag.1" {
		t.Errorf("Unknown.Session %q, want tag.1", u.Session)
	}
	c.send(&messages.ClientHello{Name: "echo", ProtocolVersion: messages.ProtocolVersion})
	next[*messages.BackendUpdateEnvironments](c)
	c.send(&messages.Ping{Session: "tag.2"})
	if p := next[*messages.Pong](c); p.Session != "tag.2" {
		t.Errorf("Pong.Session %q, want tag.2", p.Session)
	}
	// Not an overlong one: the answer stays small.
	c.send(&messages.Ping{Session: strings.Repeat("x", messages.MaxIDLength+1)})
	if p := next[*messages.Pong](c); p.Session != "" {
		t.Errorf("Pong.Session of %d bytes, want none", len(p.Session))
	}
}
