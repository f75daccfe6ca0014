package backend

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

const wait = 5 * time.Second

// rig is a backend on an embedded NATS with hand-driven peers.
type rig struct {
	t    *testing.T
	nats *testutil.NATS
	nc   *nats.Conn
	b    *Backend
	subj messages.Subjects
}

func newRig(t *testing.T, tweak func(*Config)) *rig {
	t.Helper()
	return newRigLogging(t, tweak, testutil.Logger(t))
}

// newRigLogging is newRig with the backend logging to log.
func newRigLogging(t *testing.T, tweak func(*Config), log *slog.Logger) *rig {
	t.Helper()
	n := testutil.StartNATS(t)
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "backend", Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.EnvironmentGrace = 0
	cfg.HeartbeatInterval = 100 * time.Millisecond
	cfg.HeartbeatMisses = 10 // 1 s of silence: wide enough for a loaded CI machine
	if tweak != nil {
		tweak(&cfg)
	}
	b, err := New(nc, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("backend Run: %v", err)
		}
		nc.Close()
	})
	r := &rig{t: t, nats: n, nc: nc, b: b, subj: messages.NewSubjects("")}
	// The backend subscribes in Run: wait until it answers.
	c := r.client("probe")
	testutil.Eventually(t, wait, func() bool {
		c.send(&messages.Ping{})
		select {
		case <-c.Inbox:
			return true
		case <-time.After(50 * time.Millisecond):
			return false
		}
	}, "backend does not answer")
	return r
}

// peer is a raw NATS participant: a client or an agent.
type peer struct{ *testutil.Peer }

func (r *rig) peer(id, subject, target string) *peer {
	r.t.Helper()
	return &peer{testutil.NewPeer(r.t, r.nats.URL, id, subject, target)}
}

func (r *rig) client(id string) *peer {
	return r.peer(id, r.subj.Client(id), r.subj.BackendClient(id))
}

func (p *peer) send(m messages.Message) {
	p.T.Helper()
	p.Send(m)
}

// next returns the next message of type T, skipping heartbeat noise, and
// fails on anything else.
func next[T messages.Message](p *peer) T {
	p.T.Helper()
	return testutil.Next[T](p.Peer)
}

// quiet checks that nothing but heartbeat noise arrives for a moment.
func (p *peer) quiet(d time.Duration) {
	p.T.Helper()
	p.Quiet(d)
}

// fakeAgent registers and keeps pinging until stopped.
type fakeAgent struct {
	*peer
	session string
	stop    chan struct{}
	once    sync.Once
}

func (r *rig) agent(id string, slots int, envs ...string) *fakeAgent {
	r.t.Helper()
	a := &fakeAgent{peer: r.peer(id, r.subj.Agent(id), r.subj.BackendAgent(id)), session: id + "-s1", stop: make(chan struct{})}
	a.hello(slots, envs, nil, 0)
	next[*messages.Ack](a.peer)
	a.beat()
	r.t.Cleanup(a.silence)
	return a
}

// beat pings with the agent's session every 20 ms until silenced.
func (a *fakeAgent) beat() {
	session := a.session
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-a.stop:
				return
			case <-tick.C:
				_ = natsconn.Send(a.NC, a.Target, a.Subject, &messages.Ping{Session: session})
			}
		}
	}()
}

func (a *fakeAgent) hello(slots int, envs []string, running []messages.JobAttempt, lastSeq uint64) {
	a.T.Helper()
	m := map[string]map[string]messages.EnvironmentInfo{}
	for _, e := range envs {
		typ, name, _ := strings.Cut(e, "/")
		if m[typ] == nil {
			m[typ] = map[string]messages.EnvironmentInfo{}
		}
		m[typ][name] = messages.EnvironmentInfo{ID: "img-" + name, Advertised: true}
	}
	a.send(&messages.AgentHello{ProtocolVersion: messages.ProtocolVersion, FriendlyName: "agent " + a.ID,
		AvailableJobSlots: slots, AvailableEnvironments: m, Session: a.session, RunningJobs: running, LastJobSeq: lastSeq})
}

// silence stops the heartbeat: the backend will lose this agent.
func (a *fakeAgent) silence() { a.once.Do(func() { close(a.stop) }) }

// take receives the next job and confirms it.
func (a *fakeAgent) take() *messages.BackendNewJob {
	a.T.Helper()
	j := next[*messages.BackendNewJob](a.peer)
	a.send(&messages.AgentJobStarted{JobID: j.JobID, Attempt: j.Attempt})
	return j
}

func (a *fakeAgent) finish(j *messages.BackendNewJob, status messages.Status) {
	a.T.Helper()
	a.send(&messages.AgentJobDone{JobID: j.JobID, Attempt: j.Attempt,
		JobResult: messages.JobResult{Result: messages.Result{Status: status, Text: "by " + a.ID}, Grade: status.DefaultGrade()}})
}

func newJob(id, env string, prio int) *messages.ClientNewJob {
	return &messages.ClientNewJob{JobDescription: messages.JobDescription{JobID: id, CourseID: "c", TaskID: "t",
		EnvironmentType: "docker", Environment: env, InputData: map[string]any{"@state": "s0"}}, Priority: prio, Launcher: "test"}
}

// submit sends a job and waits for it to be queued.
func (p *peer) submit(j *messages.ClientNewJob) {
	p.T.Helper()
	p.send(j)
	if q := next[*messages.BackendJobQueued](p); q.JobID != j.JobID {
		p.T.Fatalf("queued %s, want %s", q.JobID, j.JobID)
	}
}

// collect gathers the messages of type T that arrive within d.
func collect[T messages.Message](p *peer, d time.Duration) []T { return testutil.Collect[T](p.Peer, d) }
