package frontendclient

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// guard bounds every wait of these tests. It is a failure guard, never a
// measure: nothing here asserts how long anything took.
const guard = 20 * time.Second

// fakeBackend is a backend the tests drive by hand, over raw NATS with the
// real codec: it answers hellos, pings, submissions, kills and queue
// requests like ingo's backend, and does whatever else a test tells it to.
type fakeBackend struct {
	nc   *nats.Conn
	sub  *nats.Subscription
	subj messages.Subjects
	got  chan received // every message but Ping, in arrival order

	mu         sync.Mutex
	errs       []error
	envs       map[string][]string
	clients    map[string]bool
	jobs       map[string]string                   // queued or running: id -> client
	done       map[string]*messages.BackendJobDone // finished, with the client
	doneBy     map[string]string
	queue      *messages.BackendGetQueue
	pings      int             // pings answered so far
	noEcho     bool            // answers pings without their Session, as older backends
	mute       bool            // answers nothing at all
	mutedPings int             // pings left unanswered while mute
	dropQueued int             // BackendJobQueued answers to leave out
	helloErr   *messages.Error // refuse hellos with it
	throttle   bool            // refuse queue requests as over their share
	// beforeAnswer, when set, runs (mu held) before a submission is
	// answered: news of another job of its id that crosses the answer.
	beforeAnswer func(client string, m *messages.ClientNewJob)
}

type received struct {
	client string
	msg    messages.Message
	pings  int // pings the backend had answered before this message
}

func startFakeBackend(t *testing.T, url string) *fakeBackend {
	t.Helper()
	nc, err := natsconn.Connect(natsconn.Options{URL: url, Name: "fake backend", ReconnectWait: 20 * time.Millisecond, Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	fb := &fakeBackend{
		nc:      nc,
		subj:    messages.NewSubjects(""),
		got:     make(chan received, 4096),
		envs:    map[string][]string{"docker": {"default"}},
		clients: map[string]bool{},
		jobs:    map[string]string{},
		done:    map[string]*messages.BackendJobDone{},
		doneBy:  map[string]string{},
	}
	fb.listen(t)
	// The bundle store, as the real backend makes it on start.
	if _, err := bundle.EnsureStore(t.Context(), nc, "", bundle.StoreConfig{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		nc.Close()
		fb.mu.Lock()
		defer fb.mu.Unlock()
		for _, err := range fb.errs {
			t.Errorf("fake backend: %v", err)
		}
	})
	return fb
}

// listen subscribes to the backend subject, and returns once NATS knows.
func (fb *fakeBackend) listen(t *testing.T) {
	t.Helper()
	var err error
	if fb.sub, err = fb.nc.Subscribe(fb.subj.BackendClient("*"), fb.receive); err != nil {
		t.Fatal(err)
	}
	if err := fb.nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// deafen unsubscribes, as a backend that is not (yet) there: NATS bounces
// what clients send, but the backend's state stays.
func (fb *fakeBackend) deafen(t *testing.T) {
	t.Helper()
	if err := fb.sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if err := fb.nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func (fb *fakeBackend) receive(m *nats.Msg) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	items, err := messages.Split(m.Data)
	if err != nil {
		fb.errs = append(fb.errs, fmt.Errorf("client sent a bad batch: %w", err))
		return
	}
	for _, data := range items {
		fb.receiveOne(m, data)
	}
}

// receiveOne is one message from a client, alone or in a batch. Called
// with mu held.
func (fb *fakeBackend) receiveOne(m *nats.Msg, data []byte) {
	msg, err := messages.Decode(data)
	if err != nil {
		fb.errs = append(fb.errs, fmt.Errorf("client sent garbage: %w", err))
		return
	}
	client, kind, ok := fb.subj.Sender(m.Subject)
	if !ok || kind != messages.SenderFrontend || m.Reply != fb.subj.Client(client) {
		fb.errs = append(fb.errs, fmt.Errorf("%s on %q with reply subject %q", msg.MessageName(), m.Subject, m.Reply))
		return
	}
	if fb.mute {
		if _, ok := msg.(*messages.Ping); ok {
			fb.mutedPings++
		}
		return
	}
	if p, ok := msg.(*messages.Ping); ok {
		fb.pings++
		tag := p.Session
		if fb.noEcho {
			tag = ""
		}
		if fb.clients[client] {
			fb.sendLocked(client, &messages.Pong{Session: tag})
		} else {
			fb.sendLocked(client, &messages.Unknown{Session: tag})
		}
		return
	}
	select {
	case fb.got <- received{client, msg, fb.pings}:
	default:
		fb.errs = append(fb.errs, fmt.Errorf("too many messages unread by the test"))
	}
	switch v := msg.(type) {
	case *messages.ClientHello:
		if fb.helloErr != nil {
			fb.sendLocked(client, fb.helloErr)
			return
		}
		fb.clients[client] = true
		fb.sendLocked(client, &messages.BackendUpdateEnvironments{AvailableEnvironments: fb.envs})
	case *messages.ClientNewJob:
		fb.newJob(client, v)
	case *messages.ClientKillJob:
		if _, ok := fb.jobs[v.JobID]; !ok {
			fb.sendLocked(client, messages.Errorf(messages.CodeUnknownJob, v.JobID, "no such job"))
		}
	case *messages.ClientGetQueue:
		if fb.throttle {
			fb.sendLocked(client, &messages.Error{Code: messages.CodeThrottled, Ref: v.Ref, Text: "queue: over its share"})
			return
		}
		q := fb.queue
		if q == nil {
			q = &messages.BackendGetQueue{}
		}
		if v.Ref != "" { // pages of one job each, "p1" to "p3"
			page := *q
			page.Ref = v.Ref
			var seq uint64 = 1
			if v.After != nil {
				seq = v.After.Seq + 1
			}
			page.JobsWaiting = []messages.QueueWaitingJob{{JobID: fmt.Sprintf("p%d", seq)}}
			if seq < 3 {
				page.Next = &messages.QueueCursor{Running: true, Seq: seq}
			}
			q = &page
		}
		fb.sendLocked(client, q)
	}
}

// newJob answers like ingo's backend, including sending a finished job's
// result again to the client that resubmits it.
func (fb *fakeBackend) newJob(client string, m *messages.ClientNewJob) {
	if m.EnvironmentType == "" || m.Environment == "" {
		fb.sendLocked(client, messages.Errorf(messages.CodeBadRequest, m.JobID, "environment_type and environment are required"))
		return
	}
	if fb.beforeAnswer != nil {
		fb.beforeAnswer(client, m)
	}
	if _, ok := fb.jobs[m.JobID]; ok {
		fb.sendLocked(client, messages.Errorf(messages.CodeDuplicateJob, m.JobID, "already queued or running"))
		return
	}
	if d := fb.done[m.JobID]; d != nil {
		fb.sendLocked(client, messages.Errorf(messages.CodeDuplicateJob, m.JobID, "already finished"))
		if fb.doneBy[m.JobID] == client {
			fb.sendLocked(client, d)
		}
		return
	}
	fb.jobs[m.JobID] = client
	if fb.dropQueued > 0 {
		fb.dropQueued--
		return
	}
	fb.sendLocked(client, &messages.BackendJobQueued{JobID: m.JobID})
}

func (fb *fakeBackend) sendLocked(client string, m messages.Message) {
	// Closed: the test is over, and its answers no longer matter.
	if err := natsconn.Send(fb.nc, fb.subj.Client(client), "", m); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		fb.errs = append(fb.errs, fmt.Errorf("send %s: %w", m.MessageName(), err))
	}
}

// send sends m to a client, as the backend would.
func (fb *fakeBackend) send(client string, m messages.Message) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	fb.sendLocked(client, m)
}

// sendRaw sends bytes that need not be a message at all.
func (fb *fakeBackend) sendRaw(t *testing.T, client string, data []byte) {
	t.Helper()
	if err := fb.nc.Publish(fb.subj.Client(client), data); err != nil {
		t.Fatal(err)
	}
}

// finish ends a job with a result sent to its submitter.
func (fb *fakeBackend) finish(jobID string, status messages.Status) *messages.BackendJobDone {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	client := fb.jobs[jobID]
	delete(fb.jobs, jobID)
	d := &messages.BackendJobDone{JobID: jobID, JobResult: messages.NewJobResult(status, "finished by the test", "")}
	fb.done[jobID], fb.doneBy[jobID] = d, client
	fb.sendLocked(client, d)
	return d
}

// restartLocked forgets everything, as an in-memory backend does when it
// restarts. Called with mu held (inside set).
func (fb *fakeBackend) restartLocked() {
	clear(fb.clients)
	clear(fb.jobs)
	clear(fb.done)
	clear(fb.doneBy)
}

func (fb *fakeBackend) set(f func(fb *fakeBackend)) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	f(fb)
}

// setEnvs changes the environments and tells every known client.
func (fb *fakeBackend) setEnvs(envs map[string][]string) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	fb.envs = envs
	for c := range fb.clients {
		fb.sendLocked(c, &messages.BackendUpdateEnvironments{AvailableEnvironments: envs})
	}
}

// expect returns the next message of type T (from any client) for which
// match holds, skipping the others.
func expect[T messages.Message](t *testing.T, fb *fakeBackend, match func(client string, m T) bool) (string, T) {
	t.Helper()
	r := expectReceived(t, fb, match)
	return r.client, r.msg.(T)
}

// expectReceived is expect, with when the message came.
func expectReceived[T messages.Message](t *testing.T, fb *fakeBackend, match func(client string, m T) bool) received {
	t.Helper()
	timer := time.NewTimer(guard)
	defer timer.Stop()
	for {
		select {
		case r := <-fb.got:
			if m, ok := r.msg.(T); ok && (match == nil || match(r.client, m)) {
				return r
			}
		case <-timer.C:
			var zero T
			t.Fatalf("the fake backend did not receive the expected %T", zero)
		}
	}
}

// env is one test's world: NATS, the fake backend, and a client.
type env struct {
	nats *testutil.NATS
	fb   *fakeBackend
	c    *Client
	nc   *nats.Conn
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	n := testutil.StartNATS(t)
	e := &env{nats: n, fb: startFakeBackend(t, n.URL)}
	e.c, e.nc = newClient(t, n.URL, opts)
	return e
}

// newClient connects a Client with the connection policy of ingo's
// commands (reconnect forever), fast heartbeats and a test logger.
func newClient(t *testing.T, url string, opts Options) (*Client, *nats.Conn) {
	t.Helper()
	nc, err := natsconn.Connect(natsconn.Options{URL: url, Name: "test client", ReconnectWait: 20 * time.Millisecond, Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	if opts.PingInterval == 0 {
		opts.PingInterval = 20 * time.Millisecond
	}
	if opts.Log == nil {
		opts.Log = testutil.Logger(t)
	}
	c, err := New(t.Context(), nc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		nc.Close()
	})
	return c, nc
}

func ready(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := contextWithGuard(t)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}
