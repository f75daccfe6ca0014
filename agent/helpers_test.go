package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// wait bounds every wait of these tests; it is never a measure of speed.
const wait = 10 * time.Second

// backend plays the backend's side by hand over raw NATS.
type backend struct {
	t    testing.TB
	nc   *nats.Conn
	subj messages.Subjects
	in   chan received
	// unknown: answer Ping with Unknown instead of Pong.
	unknown atomic.Bool
	// autoAck: answer every AgentJobDone with Ack.
	autoAck atomic.Bool
}

type received struct {
	msg   messages.Message
	reply string
}

func startBackend(t testing.TB, n *testutil.NATS) *backend {
	t.Helper()
	closed := make(chan struct{})
	nc, err := nats.Connect(n.URL, append(testutil.Superuser(t).NATSOptions(), nats.MaxReconnects(-1), nats.ReconnectWait(5*time.Millisecond),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }))...)
	if err != nil {
		t.Fatal(err)
	}
	// Drain, not Close: a callback still running could otherwise report
	// to a test that is over.
	t.Cleanup(func() {
		if err := nc.Drain(); err != nil {
			nc.Close()
		}
		<-closed
	})
	b := &backend{t: t, nc: nc, subj: messages.NewSubjects(""), in: make(chan received, 1024)}
	_, err = nc.Subscribe(b.subj.BackendAgent("*"), func(m *nats.Msg) {
		items, err := messages.Split(m.Data)
		if err != nil {
			t.Errorf("backend got an undecodable batch from the agent: %v", err)
			return
		}
		for _, data := range items {
			b.receive(m, data)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return b
}

// receive is one message from the agent, alone or in a batch.
func (b *backend) receive(m *nats.Msg, data []byte) {
	t := b.t
	msg, err := messages.Decode(data)
	if err != nil {
		t.Errorf("backend got undecodable bytes from the agent: %v", err)
		return
	}
	switch msg := msg.(type) {
	case *messages.Ping:
		if b.unknown.Load() {
			b.sendTo(m.Reply, &messages.Unknown{Session: msg.Session})
		} else {
			b.sendTo(m.Reply, &messages.Pong{Session: msg.Session})
		}
	case *messages.AgentJobDone:
		if b.autoAck.Load() {
			b.sendTo(m.Reply, &messages.Ack{JobID: msg.JobID, Attempt: msg.Attempt})
		}
	case *messages.AgentJobRefused:
		if b.autoAck.Load() {
			b.sendTo(m.Reply, &messages.Ack{JobID: msg.JobID, Attempt: msg.Attempt})
		}
	}
	select {
	case b.in <- received{msg, m.Reply}:
	default:
		t.Errorf("backend: %d messages unread; dropped %s", len(b.in), msg.MessageName())
	}
}

func (b *backend) sendTo(subject string, m messages.Message) {
	err := natsconn.Send(b.nc, subject, "", m)
	if err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrConnectionDraining) {
		b.t.Errorf("backend send %s: %v", m.MessageName(), err)
	}
}

// toAgent sends m to the agent with the given id.
func (b *backend) toAgent(id string, m messages.Message) { b.sendTo(b.subj.Agent(id), m) }

// expect returns the next message of type T, skipping others (heartbeats,
// messages about other jobs); match, if not nil, must accept it too.
func expect[T messages.Message](t testing.TB, b *backend, match func(T) bool) (T, string) {
	t.Helper()
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for {
		select {
		case r := <-b.in:
			if m, ok := r.msg.(T); ok && (match == nil || match(m)) {
				return m, r.reply
			}
			t.Logf("skipped %s %+v", r.msg.MessageName(), r.msg)
		case <-timeout.C:
			var zero T
			t.Fatalf("no %T within %v", zero, wait)
			return zero, ""
		}
	}
}

func doneFor(jobID string) func(*messages.AgentJobDone) bool {
	return func(m *messages.AgentJobDone) bool { return m.JobID == jobID }
}

// env is one agent under test with its runtime and backend.
type env struct {
	nats    *testutil.NATS
	backend *backend
	rt      *fake.Runtime
	agent   *Agent
	nc      *nats.Conn
	cfg     Config
	hello   *messages.AgentHello // the first hello
	cancel  func()               // cancels Run's context
	wait    func() error         // waits for Run to return, and returns its error
	// ran is closed when Run has returned. runErrSeen: the test checked
	// Run's error, which the cleanup then does not report.
	ran        chan struct{}
	runErrSeen bool
}

// stop ends Run and returns its error.
func (e *env) stop() error {
	e.cancel()
	return e.wait()
}

type options struct {
	cfg     Config
	fake    fake.Options
	bundles Bundles
	natsOpt natsconn.Options
	runtime containers.Runtime
	// unaccepted: the backend does not acknowledge the first hello.
	unaccepted bool
	// pingsUnknown: from the start, the backend answers pings with
	// Unknown, as the real one answers a session it does not hold.
	pingsUnknown bool
	// log is the agent's; nil: the test's.
	log *slog.Logger
}

// start runs an agent against a fresh NATS server and a backend that
// acknowledged its first hello.
func start(t *testing.T, o options) *env {
	t.Helper()
	n := testutil.StartNATS(t)
	e := &env{nats: n, backend: startBackend(t, n), rt: fake.New(o.fake)}
	e.backend.unknown.Store(o.pingsUnknown)
	e.cfg = o.cfg
	if e.cfg.ID == "" {
		e.cfg.ID = "agent1"
	}
	if e.cfg.HeartbeatInterval == 0 {
		e.cfg.HeartbeatInterval = time.Hour // no heartbeat noise unless asked
	}
	if e.cfg.Slots == 0 {
		e.cfg.Slots = 4
	}
	// natsconn's log stays off: NATS calls it asynchronously, possibly
	// after the test is over.
	o.natsOpt.URL, o.natsOpt.Name, o.natsOpt.Creds = n.URL, "agent-under-test", testutil.Superuser(t)
	nc, err := natsconn.Connect(o.natsOpt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	e.nc = nc
	var rt containers.Runtime = e.rt
	if o.runtime != nil {
		rt = o.runtime
	}
	if o.log == nil {
		o.log = testutil.Logger(t)
	}
	e.agent, err = New(nc, rt, o.bundles, e.cfg, o.log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	e.ran = make(chan struct{})
	go func() { done <- e.agent.Run(ctx); close(e.ran) }()
	e.cancel = func() { cancel(errors.New("test over")) }
	var returned bool
	var runErr error
	e.wait = func() error {
		if !returned {
			select {
			case runErr = <-done:
				returned = true
			case <-time.After(wait):
				t.Fatalf("Run did not return within %v", wait)
			}
		}
		return runErr
	}
	t.Cleanup(func() {
		// Acks let Run return at once rather than after FlushTimeout.
		e.backend.autoAck.Store(true)
		if err := e.stop(); err != nil && !e.runErrSeen {
			t.Errorf("Run: %v", err)
		}
	})
	e.hello, _ = expect[*messages.AgentHello](t, e.backend, nil)
	if !o.unaccepted {
		e.backend.toAgent(e.cfg.ID, &messages.Ack{Session: e.hello.Session})
	}
	return e
}

var seq atomic.Uint64

// newJob is a BackendNewJob for the fake runtime's default environment.
func newJob(id string, fakeKeys map[string]any) *messages.BackendNewJob {
	input := map[string]any{"q1": "hello"}
	if fakeKeys != nil {
		input["@fake"] = fakeKeys
	}
	return &messages.BackendNewJob{
		JobDescription: messages.JobDescription{
			JobID: id, CourseID: "c", TaskID: "t",
			EnvironmentType: "docker", Environment: "default", InputData: input,
		},
		Attempt: 1,
		Seq:     seq.Add(1),
	}
}

// submit sends a job and waits for its AgentJobStarted.
func (e *env) submit(t *testing.T, j *messages.BackendNewJob) {
	t.Helper()
	e.backend.toAgent(e.cfg.ID, j)
	expect(t, e.backend, func(m *messages.AgentJobStarted) bool { return m.JobID == j.JobID && m.Attempt == j.Attempt })
}

// done waits for the result of a job.
func (e *env) done(t *testing.T, jobID string) *messages.AgentJobDone {
	t.Helper()
	m, reply := expect(t, e.backend, doneFor(jobID))
	if reply != e.backend.subj.Agent(e.cfg.ID) {
		t.Errorf("AgentJobDone reply subject %q, want the agent's subject", reply)
	}
	return m
}

// refused waits for the refusal of a job's attempt.
func (e *env) refused(t *testing.T, jobID string) *messages.AgentJobRefused {
	t.Helper()
	m, _ := expect(t, e.backend, func(m *messages.AgentJobRefused) bool { return m.JobID == jobID })
	return m
}

func (e *env) ack(m *messages.AgentJobDone) {
	e.backend.toAgent(e.cfg.ID, &messages.Ack{JobID: m.JobID, Attempt: m.Attempt})
}

func status(m *messages.AgentJobDone) string {
	return fmt.Sprintf("%s %q grade %v state %q", m.Result.Status, m.Result.Text, m.Grade, m.State)
}
