package history_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/backend/history"
	"github.com/ingo-grader/ingo/backend/journal"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

const wait = 5 * time.Second

var subj = messages.NewSubjects("")

// proc is one backend process: its connection, journal, history and Run.
type proc struct {
	h    *history.Store
	stop func()
}

func startBackend(t *testing.T, n *testutil.NATS, o history.Options) *proc {
	t.Helper()
	return startBackendWith(t, n, o, nil)
}

// startBackendWith is startBackend with the backend's History wrapped
// (nil: the Store itself).
func startBackendWith(t *testing.T, n *testutil.NATS, o history.Options, wrap func(*history.Store) backend.History) *proc {
	t.Helper()
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "backend", Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(context.Background(), nc, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := history.Open(context.Background(), nc, o)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := h.Serve(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := backend.DefaultConfig()
	cfg.EnvironmentGrace = time.Hour
	cfg.HeartbeatInterval = 100 * time.Millisecond
	cfg.Journal, cfg.History = j, h
	if wrap != nil {
		cfg.History = wrap(h)
	}
	// Return once it serves: a peer's first message before the backend
	// subscribed would be lost (CI saw an agent's hello go unanswered).
	serving := make(chan struct{})
	cfg.Serving = func() { close(serving) }
	b, err := backend.New(nc, cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }() // ends with cancel, in stop
	var once sync.Once
	p := &proc{h: h, stop: func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("backend Run: %v", err)
			}
			srv.Close()
			h.Close()
			j.Close()
			nc.Close()
		})
	}}
	t.Cleanup(p.stop)
	select {
	case <-serving:
	case err := <-done:
		done <- err // for stop
		t.Fatalf("backend Run ended before serving: %v", err)
	case <-time.After(wait):
		t.Fatal("the backend did not serve in time")
	}
	return p
}

func peer(t *testing.T, n *testutil.NATS, id string, agent bool) *testutil.Peer {
	if agent {
		return testutil.NewPeer(t, n.URL, id, subj.Agent(id), subj.BackendAgent(id))
	}
	return testutil.NewPeer(t, n.URL, id, subj.Client(id), subj.BackendClient(id))
}

// run submits a job for course as client c, runs it on agent a with
// status, and acknowledges its result.
func run(t *testing.T, c, a *testutil.Peer, id, course string, status messages.Status) {
	t.Helper()
	c.Send(&messages.ClientNewJob{JobDescription: messages.JobDescription{JobID: id, CourseID: course, TaskID: "t",
		EnvironmentType: "docker", Environment: "python", InputData: map[string]any{"@username": "alice"}}})
	testutil.Next[*messages.BackendJobQueued](c)
	j := testutil.Next[*messages.BackendNewJob](a)
	a.Send(&messages.AgentJobStarted{JobID: j.JobID, Attempt: j.Attempt})
	a.Send(&messages.AgentJobDone{JobID: j.JobID, Attempt: j.Attempt, JobResult: messages.JobResult{
		Result: messages.Result{Status: status, Text: "text of " + id}, Grade: 42, Archive: make([]byte, 2000)}})
	if d := testutil.Next[*messages.BackendJobDone](c); d.JobID != id {
		t.Fatalf("result of %s, want %s", d.JobID, id)
	}
	c.Send(&messages.Ack{JobID: id})
}

func hello(a *testutil.Peer) {
	a.Send(&messages.AgentHello{ProtocolVersion: messages.ProtocolVersion, FriendlyName: a.ID, AvailableJobSlots: 1,
		AvailableEnvironments: map[string]map[string]messages.EnvironmentInfo{"docker": {"python": {ID: "img", Advertised: true}}},
		Session:               a.ID + "-s1"})
	testutil.Next[*messages.Ack](a)
}

// ask sends a ClientGetHistory as the NATS user creds, on the subject its
// role may publish on.
func ask(t *testing.T, n *testutil.NATS, role natsauth.Role, name string, q *messages.ClientGetHistory) (*messages.BackendHistory, error) {
	t.Helper()
	creds := testutil.Creds(t, role, name)
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: name, Creds: creds})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	subject := subj.HistoryClient(name)
	if role == natsauth.RoleAdmin {
		subject = subj.HistoryAdmin(name)
	}
	data, err := messages.Encode(q)
	if err != nil {
		t.Fatal(err)
	}
	m, err := nc.Request(subject, data, wait)
	if err != nil {
		return nil, err
	}
	msg, err := messages.Decode(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	switch a := msg.(type) {
	case *messages.BackendHistory:
		return a, nil
	case *messages.Error:
		return nil, a
	}
	t.Fatalf("answer %T", msg)
	return nil, nil
}

// A delivered and acknowledged job is in the history, whole, after a
// backend restart; its client reads it, another frontend does not, an
// admin does.
func TestDeliveredJobFoundAfterRestart(t *testing.T) {
	n := testutil.StartNATS(t)
	p := startBackend(t, n, history.Options{MaxArchive: 1000})
	c, a := peer(t, n, "alice", false), peer(t, n, "ag1", true)
	hello(a)
	run(t, c, a, "job-1", "LSINF 1101", messages.StatusFailed)
	testutil.Eventually(t, wait, func() bool { return p.h.Stats().Written == 1 }, "record not written")
	p.stop()

	startBackend(t, n, history.Options{MaxArchive: 1000})
	h, err := ask(t, n, natsauth.RoleFrontend, "alice", &messages.ClientGetHistory{JobID: "job-1"})
	if err != nil {
		t.Fatal(err)
	}
	r := h.Jobs[0]
	if r.ClientID != "alice" || r.CourseID != "LSINF 1101" || r.User != "alice" || r.Agent != "ag1" || r.Attempts != 1 ||
		r.Result.Status != messages.StatusFailed || r.Result.Text != "text of job-1" || r.Grade != 42 ||
		r.StartedAt == 0 || r.FinishedAt < r.StartedAt || r.SubmittedAt > r.StartedAt {
		t.Errorf("record %+v", r)
	}
	if r.Archive != nil || r.ArchiveDropped != 2000 {
		t.Errorf("archive of 2000 bytes over a bound of 1000: kept %d, dropped %d", len(r.Archive), r.ArchiveDropped)
	}
	var me *messages.Error
	if _, err := ask(t, n, natsauth.RoleFrontend, "mallory", &messages.ClientGetHistory{JobID: "job-1"}); !errors.As(err, &me) || me.Code != messages.CodeUnknownJob {
		t.Errorf("another frontend reading job-1: %v, want unknown_job", err)
	}
	if h, err := ask(t, n, natsauth.RoleFrontend, "mallory", &messages.ClientGetHistory{}); err != nil || len(h.Jobs) != 0 {
		t.Errorf("another frontend's listing: %v, %v; want nothing", h, err)
	}
	if h, err := ask(t, n, natsauth.RoleAdmin, "ops", &messages.ClientGetHistory{JobID: "job-1"}); err != nil || h.Jobs[0].JobID != "job-1" {
		t.Errorf("admin reading job-1: %v, %v", h, err)
	}
}

// A frontend may not read the history stream itself, nor ask on another
// frontend's subject.
func TestFrontendCannotReadTheStream(t *testing.T) {
	n := testutil.StartNATS(t)
	startBackend(t, n, history.Options{})
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "mallory", Creds: testutil.Creds(t, natsauth.RoleFrontend, "mallory")})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, subject := range []string{"$JS.API.DIRECT.GET." + subj.HistoryStream() + "." + subj.HistoryJob("job-1"),
		"$JS.API.STREAM.MSG.GET." + subj.HistoryStream(), subj.HistoryClient("alice")} {
		if _, err := nc.Request(subject, []byte("{}"), time.Second); err == nil {
			t.Errorf("%s answered a frontend", subject)
		}
	}
}

// Pages are newest first, filtered by course and status on the server,
// and walk every job exactly once.
func TestListPagesAndFilters(t *testing.T) {
	n := testutil.StartNATS(t)
	startBackend(t, n, history.Options{})
	c, a := peer(t, n, "alice", false), peer(t, n, "ag1", true)
	hello(a)
	for i := range 7 {
		status := messages.StatusSuccess
		if i%2 == 1 {
			status = messages.StatusFailed
		}
		run(t, c, a, fmt.Sprintf("j%d", i), []string{"c1", "c2"}[i%2], status)
	}
	var all []string
	var cursor uint64
	testutil.Eventually(t, wait, func() bool {
		h, err := ask(t, n, natsauth.RoleAdmin, "ops", &messages.ClientGetHistory{})
		return err == nil && len(h.Jobs) == 7
	}, "7 records")
	for {
		h, err := ask(t, n, natsauth.RoleAdmin, "ops", &messages.ClientGetHistory{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range h.Jobs {
			if !r.Summary || r.Result.Text != "" {
				t.Errorf("a page lists summaries: %+v", r)
			}
			all = append(all, r.JobID)
		}
		if cursor = h.Next; cursor == 0 {
			break
		}
	}
	if fmt.Sprint(all) != "[j6 j5 j4 j3 j2 j1 j0]" {
		t.Errorf("pages: %v", all)
	}
	h, err := ask(t, n, natsauth.RoleFrontend, "alice", &messages.ClientGetHistory{CourseID: "c2", Status: messages.StatusFailed})
	if err != nil || len(h.Jobs) != 3 || h.Jobs[0].JobID != "j5" {
		t.Errorf("c2 failed: %+v, %v", h, err)
	}
	future := time.Now().Add(time.Hour).UnixMilli()
	if h, err := ask(t, n, natsauth.RoleAdmin, "ops", &messages.ClientGetHistory{Since: future}); err != nil || len(h.Jobs) != 0 {
		t.Errorf("since an hour ahead: %+v, %v", h, err)
	}
	if h, err := ask(t, n, natsauth.RoleAdmin, "ops", &messages.ClientGetHistory{Until: time.Now().Add(-time.Hour).UnixMilli()}); err != nil || len(h.Jobs) != 0 {
		t.Errorf("until an hour ago: %+v, %v", h, err)
	}
}

// The retention setting is the stream's MaxAge, also when it changes.
func TestRetentionApplied(t *testing.T) {
	n := testutil.StartNATS(t)
	nc, err := nats.Connect(n.URL, testutil.Superuser(t).NATSOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, d := range []time.Duration{history.DefaultRetention, 48 * time.Hour} {
		h, err := history.Open(context.Background(), nc, history.Options{Retention: d, Replicas: 1, MaxBytes: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		js, _ := nc.JetStream()
		info, err := js.StreamInfo(subj.HistoryStream())
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.MaxAge != d || info.Config.MaxBytes != 1<<30 || info.Config.MaxMsgsPerSubject != 1 {
			t.Errorf("stream config %+v, want MaxAge %v", info.Config, d)
		}
		h.Close()
	}
}
