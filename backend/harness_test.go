package backend

import (
	"context"
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
	n := testutil.StartNATS(t)
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "backend"})
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
	b, err := New(nc, cfg, testutil.Logger(t))
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
		case <-c.inbox:
			return true
		case <-time.After(50 * time.Millisecond):
			return false
		}
	}, "backend does not answer")
	return r
}

// peer is a raw NATS participant: a client or an agent.
type peer struct {
	t       *testing.T
	nc      *nats.Conn
	id      string
	subject string // its own
	target  string // the backend subject it writes to
	inbox   chan messages.Message
}

func (r *rig) peer(id, subject, target string) *peer {
	r.t.Helper()
	nc, err := nats.Connect(r.nats.URL)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(nc.Close)
	p := &peer{t: r.t, nc: nc, id: id, subject: subject, target: target, inbox: make(chan messages.Message, 10000)}
	_, err = nc.Subscribe(subject, func(m *nats.Msg) {
		if natsconn.IsStatus(m) {
			return
		}
		msg, err := messages.Decode(m.Data)
		if err != nil {
			r.t.Errorf("%s got undecodable message: %v", id, err)
			return
		}
		p.inbox <- msg
	})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		r.t.Fatal(err)
	}
	return p
}

func (r *rig) client(id string) *peer {
	return r.peer(id, r.subj.Client(id), r.subj.BackendClient())
}

func (p *peer) send(m messages.Message) {
	p.t.Helper()
	if err := natsconn.Send(p.nc, p.target, p.subject, m); err != nil {
		p.t.Fatal(err)
	}
}

// next returns the next message of type T, skipping others it is told to
// skip (Pong, environment updates), and fails on anything else.
func next[T messages.Message](p *peer) T {
	p.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case m := <-p.inbox:
			if v, ok := m.(T); ok {
				return v
			}
			switch m.(type) {
			case *messages.Pong, *messages.BackendUpdateEnvironments, *messages.Ack, *messages.BackendJobStarted:
				continue
			}
			var zero T
			p.t.Fatalf("%s: want %T, got %T %+v", p.id, zero, m, m)
		case <-deadline:
			var zero T
			p.t.Fatalf("%s: no %T within %v", p.id, zero, wait)
		}
	}
}

// quiet checks that nothing but heartbeat noise arrives for a moment.
func (p *peer) quiet(d time.Duration) {
	p.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-p.inbox:
			switch m.(type) {
			case *messages.Pong, *messages.BackendUpdateEnvironments, *messages.Ack, *messages.BackendJobStarted:
				continue
			}
			p.t.Fatalf("%s: unexpected %T %+v", p.id, m, m)
		case <-deadline:
			return
		}
	}
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
	a := &fakeAgent{peer: r.peer(id, r.subj.Agent(id), r.subj.BackendAgent()), session: id + "-s1", stop: make(chan struct{})}
	a.hello(slots, envs, nil, 0)
	next[*messages.Ack](a.peer)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-a.stop:
				return
			case <-tick.C:
				_ = natsconn.Send(a.nc, a.target, a.subject, &messages.Ping{})
			}
		}
	}()
	r.t.Cleanup(a.silence)
	return a
}

func (a *fakeAgent) hello(slots int, envs []string, running []messages.JobAttempt, lastSeq uint64) {
	a.t.Helper()
	m := map[string]map[string]messages.EnvironmentInfo{}
	for _, e := range envs {
		typ, name, _ := strings.Cut(e, "/")
		if m[typ] == nil {
			m[typ] = map[string]messages.EnvironmentInfo{}
		}
		m[typ][name] = messages.EnvironmentInfo{ID: "img-" + name, Advertised: true}
	}
	a.send(&messages.AgentHello{ProtocolVersion: messages.ProtocolVersion, FriendlyName: "agent " + a.id,
		AvailableJobSlots: slots, AvailableEnvironments: m, Session: a.session, RunningJobs: running, LastJobSeq: lastSeq})
}

// silence stops the heartbeat: the backend will lose this agent.
func (a *fakeAgent) silence() { a.once.Do(func() { close(a.stop) }) }

// take receives the next job and confirms it.
func (a *fakeAgent) take() *messages.BackendNewJob {
	a.t.Helper()
	j := next[*messages.BackendNewJob](a.peer)
	a.send(&messages.AgentJobStarted{JobID: j.JobID, Attempt: j.Attempt})
	return j
}

func (a *fakeAgent) finish(j *messages.BackendNewJob, status messages.Status) {
	a.t.Helper()
	a.send(&messages.AgentJobDone{JobID: j.JobID, Attempt: j.Attempt,
		JobResult: messages.JobResult{Result: messages.Result{Status: status, Text: "by " + a.id}, Grade: status.DefaultGrade()}})
}

func newJob(id, env string, prio int) *messages.ClientNewJob {
	return &messages.ClientNewJob{JobDescription: messages.JobDescription{JobID: id, CourseID: "c", TaskID: "t",
		EnvironmentType: "docker", Environment: env, InputData: map[string]any{"@state": "s0"}}, Priority: prio, Launcher: "test"}
}

// submit sends a job and waits for it to be queued.
func (p *peer) submit(j *messages.ClientNewJob) {
	p.t.Helper()
	p.send(j)
	if q := next[*messages.BackendJobQueued](p); q.JobID != j.JobID {
		p.t.Fatalf("queued %s, want %s", q.JobID, j.JobID)
	}
}

// collect gathers the messages of type T that arrive within d.
func collect[T messages.Message](p *peer, d time.Duration) []T {
	var out []T
	deadline := time.After(d)
	for {
		select {
		case m := <-p.inbox:
			if v, ok := m.(T); ok {
				out = append(out, v)
			}
		case <-deadline:
			return out
		}
	}
}
