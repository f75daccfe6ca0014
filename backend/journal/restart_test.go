package journal

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

const wait = 5 * time.Second

var subj = messages.NewSubjects("")

// server is one backend process: its own connection, journal and Run.
type server struct {
	b      *backend.Backend
	j      *Journal
	cancel func()
	done   chan error
	nc     *nats.Conn
}

func startBackend(t *testing.T, n *testutil.NATS, tweak func(*backend.Config)) *server {
	t.Helper()
	return startBackendWith(t, n, Options{}, tweak)
}

// startBackendWith is startBackend with the journal's options.
func startBackendWith(t *testing.T, n *testutil.NATS, o Options, tweak func(*backend.Config)) *server {
	t.Helper()
	s := newServer(t, n, o, tweak)
	if err := s.run(t); err != nil {
		t.Fatalf("backend Run: %v", err)
	}
	return s
}

// newServer opens a journal and makes a backend on it, not running yet.
func newServer(t *testing.T, n *testutil.NATS, o Options, tweak func(*backend.Config)) *server {
	t.Helper()
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "backend", Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	j, err := Open(context.Background(), nc, o)
	if err != nil {
		t.Fatal(err)
	}
	cfg := backend.DefaultConfig()
	cfg.EnvironmentGrace = time.Hour // jobs wait for agents across restarts
	cfg.HeartbeatInterval = 100 * time.Millisecond
	cfg.Journal = j
	if tweak != nil {
		tweak(&cfg)
	}
	b, err := backend.New(nc, cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	return &server{b: b, j: j, done: make(chan error, 1), nc: nc}
}

// run starts Run and waits until the backend serves. An error Run
// returns before it serves is returned, with the backend stopped.
func (s *server) run(t *testing.T) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { s.done <- s.b.Run(ctx) }()
	var once sync.Once
	var early error
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-s.done; err != nil && early == nil {
				t.Errorf("backend Run: %v", err)
			}
			// As ingo backend does on its way out: the journal's last
			// compaction drops the records of acknowledged results.
			s.j.Close()
			s.nc.Close()
		})
	}
	s.cancel = stop
	t.Cleanup(stop)
	// Serving once it answers a health-check ping on a raw inbox.
	data, err := messages.Encode(&messages.Ping{})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() bool {
		select {
		case early = <-s.done:
			s.done <- early
			return true
		default:
		}
		m, err := s.nc.Request(subj.BackendClient("probe"), data, 100*time.Millisecond)
		return err == nil && !natsconn.IsStatus(m)
	}, "backend does not answer")
	if early != nil {
		stop()
	}
	return early
}

// stop ends Run, as a backend process that stops would.
func (s *server) stop() { s.cancel() }

func (s *server) records(t *testing.T) uint64 {
	t.Helper()
	n, err := s.j.Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// peer is a raw NATS client or agent that can keep pinging.
type peer struct {
	*testutil.Peer
	stop chan struct{}
	once sync.Once
}

func newPeer(t *testing.T, n *testutil.NATS, id, subject, target string) *peer {
	t.Helper()
	p := &peer{Peer: testutil.NewPeer(t, n.URL, id, subject, target), stop: make(chan struct{})}
	p.Noise = restartNoise
	t.Cleanup(p.silence)
	return p
}

// restartNoise adds Unknown to the heartbeat noise: pings that reach a
// backend which has just restarted are answered Unknown until the peer
// says hello again.
func restartNoise(m messages.Message) bool {
	_, unknown := m.(*messages.Unknown)
	return unknown || testutil.HeartbeatNoise(m)
}

func client(t *testing.T, n *testutil.NATS, id string) *peer {
	return newPeer(t, n, id, subj.Client(id), subj.BackendClient(id))
}

func agentPeer(t *testing.T, n *testutil.NATS, id string) *peer {
	return newPeer(t, n, id, subj.Agent(id), subj.BackendAgent(id))
}

func (p *peer) send(m messages.Message) {
	p.T.Helper()
	p.Send(m)
}

// ping keeps an agent alive until silenced.
func (p *peer) ping() {
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				_ = natsconn.Send(p.NC, p.Target, p.Subject, &messages.Ping{})
			}
		}
	}()
}

func (p *peer) silence() { p.once.Do(func() { close(p.stop) }) }

func (p *peer) hello(slots int, running []messages.JobAttempt, lastSeq uint64) {
	p.T.Helper()
	p.send(&messages.AgentHello{ProtocolVersion: messages.ProtocolVersion, FriendlyName: p.ID, AvailableJobSlots: slots,
		AvailableEnvironments: map[string]map[string]messages.EnvironmentInfo{"docker": {"python": {ID: "img", Advertised: true}}},
		Session:               p.ID + "-s1", RunningJobs: running, LastJobSeq: lastSeq})
	next[*messages.Ack](p)
}

// next returns the next message of type T, skipping noise; any other
// message fails the test.
func next[T messages.Message](p *peer) T {
	p.T.Helper()
	return testutil.Next[T](p.Peer)
}

// quiet fails on anything but noise arriving within d.
func (p *peer) quiet(d time.Duration) {
	p.T.Helper()
	p.Quiet(d)
}

func (p *peer) submit(id string, prio int) {
	p.T.Helper()
	p.send(sampleJob(id, prio))
	if q := next[*messages.BackendJobQueued](p); q.JobID != id {
		p.T.Fatalf("queued %s, want %s", q.JobID, id)
	}
}

// result takes the next result and acknowledges it, as the client
// library does once the application has it.
func (p *peer) result() *messages.BackendJobDone {
	p.T.Helper()
	d := next[*messages.BackendJobDone](p)
	p.send(&messages.Ack{JobID: d.JobID})
	return d
}

func (p *peer) take() *messages.BackendNewJob {
	p.T.Helper()
	j := next[*messages.BackendNewJob](p)
	p.send(&messages.AgentJobStarted{JobID: j.JobID, Attempt: j.Attempt})
	return j
}

func (p *peer) finish(j *messages.BackendNewJob) {
	p.T.Helper()
	p.send(&messages.AgentJobDone{JobID: j.JobID, Attempt: j.Attempt,
		JobResult: messages.JobResult{Result: messages.Result{Status: messages.StatusSuccess, Text: "by " + p.ID}, Grade: 100}})
}

// Waiting jobs survive a restart and run in their priority/FIFO order,
// none lost and none twice.
func TestWaitingJobsSurviveRestart(t *testing.T) {
	n := testutil.StartNATS(t)
	s1 := startBackend(t, n, nil)
	c := client(t, n, "c1")
	prios := []int{2, 0, 1, 0, 2, 1, 0, 2, 1, 0, 0, 2}
	var want []string
	for p := 0; p <= 2; p++ {
		for i, pr := range prios {
			if pr == p {
				want = append(want, fmt.Sprintf("job-%02d", i))
			}
		}
	}
	for i, pr := range prios {
		c.submit(fmt.Sprintf("job-%02d", i), pr)
	}
	if got := s1.records(t); got != uint64(len(prios)) {
		t.Fatalf("journal holds %d records, want %d", got, len(prios))
	}
	s1.stop()

	s2 := startBackend(t, n, nil)
	a := agentPeer(t, n, "a1")
	a.ping()
	a.hello(1, nil, 0)
	var order []string
	for range prios {
		j := a.take()
		if j.InputData["q"] != "print(1)" || j.InputData["@state"] != "s0" {
			t.Fatalf("%s reached its agent without its inputs, read back from the journal: %v", j.JobID, j.InputData)
		}
		order = append(order, j.JobID)
		a.finish(j)
	}
	a.quiet(300 * time.Millisecond)
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("run order\n got %v\nwant %v", order, want)
	}
	results := map[string]int{}
	for range prios {
		results[c.result().JobID]++
	}
	c.quiet(300 * time.Millisecond)
	for _, id := range want {
		if results[id] != 1 {
			t.Errorf("%s: %d results, want 1", id, results[id])
		}
	}
	testutil.Eventually(t, wait, func() bool { return s2.records(t) == 0 }, "finished jobs are still in the journal")
}

// A running job survives a restart: its agent keeps it, re-announces it,
// and its result reaches the client exactly once.
func TestRunningJobSurvivesRestart(t *testing.T) {
	n := testutil.StartNATS(t)
	s1 := startBackend(t, n, nil)
	c := client(t, n, "c1")
	a := agentPeer(t, n, "a1")
	a.ping()
	a.hello(2, nil, 0)
	c.submit("run-1", 0)
	c.submit("wait-1", 0)
	c.submit("wait-2", 0)
	j1 := a.take()
	j2 := a.take()
	if j1.JobID != "run-1" || j2.JobID != "wait-1" {
		t.Fatalf("took %s and %s", j1.JobID, j2.JobID)
	}
	testutil.Eventually(t, wait, func() bool { return s1.b.Stats().Submitted == 3 }, "not submitted")
	s1.stop()

	s2 := startBackend(t, n, func(c *backend.Config) { c.StartTimeout = time.Hour })
	// The agent reconnects: it still runs both, says so, and finishes run-1.
	a.hello(2, []messages.JobAttempt{{JobID: j1.JobID, Attempt: j1.Attempt}, {JobID: j2.JobID, Attempt: j2.Attempt}}, j2.Seq)
	a.quiet(300 * time.Millisecond) // nothing killed, nothing new: both slots busy
	a.finish(j1)
	j3 := a.take()
	if j3.JobID != "wait-2" {
		t.Fatalf("then took %s, want wait-2", j3.JobID)
	}
	if j3.Seq <= j2.Seq {
		t.Errorf("new job seq %d not above the agent's last %d", j3.Seq, j2.Seq)
	}
	a.finish(j2)
	a.finish(j3)
	got := map[string]int{}
	for range 3 {
		d := c.result()
		got[d.JobID]++
		if d.Result.Status != messages.StatusSuccess {
			t.Errorf("%s ended %s: %s", d.JobID, d.Result.Status, d.Result.Text)
		}
	}
	c.quiet(300 * time.Millisecond)
	for _, id := range []string{"run-1", "wait-1", "wait-2"} {
		if got[id] != 1 {
			t.Errorf("%s: %d results, want exactly 1", id, got[id])
		}
	}
	if st := s2.b.Stats(); st.Requeued != 0 || st.StaleAttempts != 0 {
		t.Errorf("stats after restart: %+v", st)
	}
	testutil.Eventually(t, wait, func() bool { return s2.records(t) == 0 }, "finished jobs are still in the journal")
}

// A job whose agent never comes back after a restart is queued again
// StartTimeout after the start, and runs elsewhere; an agent that comes
// back without a job it had (it restarted) gives it up at once.
func TestUnclaimedJobsRequeuedAfterRestart(t *testing.T) {
	n := testutil.StartNATS(t)
	s1 := startBackend(t, n, nil)
	c := client(t, n, "c1")
	gone := agentPeer(t, n, "gone")
	gone.ping()
	gone.hello(1, nil, 0)
	forgot := agentPeer(t, n, "forgot")
	forgot.ping()
	forgot.hello(1, nil, 0)
	c.submit("j-a", 0)
	c.submit("j-b", 0)
	// Either agent may get either job: both are equally idle.
	ja, jb := gone.take(), forgot.take()
	testutil.Eventually(t, wait, func() bool { return s1.b.Stats().Submitted == 2 }, "not submitted")
	gone.silence()
	s1.stop()

	start := time.Now()
	startBackend(t, n, func(c *backend.Config) { c.StartTimeout = time.Second })
	// "forgot" restarted meanwhile: new session, nothing running.
	forgot.send(&messages.AgentHello{ProtocolVersion: messages.ProtocolVersion, FriendlyName: "forgot", AvailableJobSlots: 1,
		AvailableEnvironments: map[string]map[string]messages.EnvironmentInfo{"docker": {"python": {ID: "img", Advertised: true}}},
		Session:               "forgot-s2"})
	first := forgot.take()
	if first.JobID != jb.JobID || first.Attempt != jb.Attempt+1 {
		t.Fatalf("forgot got %s attempt %d, want %s attempt %d", first.JobID, first.Attempt, jb.JobID, jb.Attempt+1)
	}
	forgot.finish(first)
	second := forgot.take()
	if second.JobID != ja.JobID || second.Attempt != ja.Attempt+1 {
		t.Fatalf("then got %s attempt %d, want %s attempt %d", second.JobID, second.Attempt, ja.JobID, ja.Attempt+1)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("%s re-queued after %v, before the start timeout", ja.JobID, el)
	}
	forgot.finish(second)
	got := map[string]int{}
	for range 2 {
		got[next[*messages.BackendJobDone](c).JobID]++
	}
	c.quiet(200 * time.Millisecond)
	if got["j-a"] != 1 || got["j-b"] != 1 {
		t.Errorf("results %v, want one each", got)
	}
}
