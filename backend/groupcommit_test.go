package backend

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// gateJournal is an AsyncJournal that stores only when the test says so,
// or fails.
type gateJournal struct {
	mu       sync.Mutex
	appended []Transition
	stored   uint64
	err      error
	progress chan struct{}
}

func newGateJournal() *gateJournal { return &gateJournal{progress: make(chan struct{}, 1)} }

func (g *gateJournal) Record(Transition) error { return errors.New("gateJournal is asynchronous") }

func (g *gateJournal) Append(t Transition) (uint64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return 0, g.err
	}
	g.appended = append(g.appended, t)
	return uint64(len(g.appended)), nil
}

func (g *gateJournal) Stored() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stored
}

func (g *gateJournal) Progress() <-chan struct{} { return g.progress }

func (g *gateJournal) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// storeAll stores what was appended, or fails with err.
func (g *gateJournal) storeAll(err error) {
	g.mu.Lock()
	if err != nil {
		g.err = err
	} else {
		g.stored = uint64(len(g.appended))
	}
	g.mu.Unlock()
	select {
	case g.progress <- struct{}{}:
	default:
	}
}

func (g *gateJournal) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.appended)
}

// With an asynchronous journal, the backend applies a transition at once
// but nobody hears of it before it is stored: the client's "queued" and
// the agent's job wait for the store, and leave in order once it is done.
func TestGroupCommit_NothingLeavesBeforeItIsStored(t *testing.T) {
	g := newGateJournal()
	r := newRig(t, func(c *Config) { c.Journal, c.EnvironmentGrace = g, time.Hour })
	c := r.client("c1")
	c.send(newJob("j1", "default", 0))
	testutil.Eventually(t, wait, func() bool { return g.count() == 1 }, "JobQueued not appended")
	c.quiet(300 * time.Millisecond)
	g.storeAll(nil)
	if q := next[*messages.BackendJobQueued](c); q.JobID != "j1" {
		t.Fatalf("queued %+v", q)
	}

	a := r.agent("a", 1, "docker/default")
	testutil.Eventually(t, wait, func() bool { return g.count() == 2 }, "JobAssigned not appended")
	select {
	case m := <-a.Inbox:
		if _, ok := m.(*messages.BackendNewJob); ok {
			t.Fatal("the agent got its job before the assignment was stored")
		}
	case <-time.After(300 * time.Millisecond):
	}
	g.storeAll(nil)
	if j := a.take(); j.JobID != "j1" {
		t.Fatalf("assigned %+v", j)
	}
}

// A store that fails after the backend applied the transition leaves the
// backend ahead of its journal: Run stops with ErrJournalFailed and what
// it held back is never sent.
func TestGroupCommit_FailedStoreStopsTheBackend(t *testing.T) {
	n := testutil.StartNATS(t)
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "backend", Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	g := newGateJournal()
	cfg := DefaultConfig()
	cfg.Journal = g
	b, err := New(nc, cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(context.Background()) }()
	subj := messages.NewSubjects("")
	c := &peer{testutil.NewPeer(t, n.URL, "c1", subj.Client("c1"), subj.BackendClient("c1"))}
	testutil.Eventually(t, wait, func() bool {
		c.send(newJob("j1", "default", 0))
		return g.count() > 0
	}, "JobQueued not appended")
	g.storeAll(errors.New("stream lost its quorum"))
	select {
	case err := <-done:
		if !errors.Is(err, ErrJournalFailed) {
			t.Fatalf("Run = %v, want ErrJournalFailed", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not stop after the journal failed")
	}
	if got := collect[*messages.BackendJobQueued](c, 300*time.Millisecond); len(got) > 0 {
		t.Fatalf("the client heard of a transition that was never stored: %+v", got)
	}
}
