package journal

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// A standby preloads the journal while the active backend still runs;
// what the active one stores afterwards (new jobs, one taken by an agent)
// is caught up when the standby runs: every job once, in its order.
func TestPreload_CatchesUpWithWhatWasStoredSince(t *testing.T) {
	n := testutil.StartNATS(t)
	s1 := startBackend(t, n, nil)
	c := client(t, n, "c1")
	for i := range 3 {
		c.submit(fmt.Sprintf("job-%d", i), 0)
	}
	s2 := newServer(t, n, Options{}, nil)
	if err := s2.b.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Stored after the preload: two more jobs, and job-0 taken by an agent
	// that keeps running it.
	for i := 3; i < 5; i++ {
		c.submit(fmt.Sprintf("job-%d", i), 0)
	}
	a := agentPeer(t, n, "a1")
	a.ping()
	a.hello(1, nil, 0)
	first := a.take()
	if first.JobID != "job-0" {
		t.Fatalf("the agent took %s first, want job-0", first.JobID)
	}
	// The active backend stops; with every job live, its last compaction
	// removes nothing, so the preload is still the journal's prefix.
	s1.stop()

	if err := s2.run(t); err != nil {
		t.Fatalf("the preloaded backend did not serve: %v", err)
	}
	// The agent says hello again with its job and gets the rest in order.
	a.hello(1, []messages.JobAttempt{{JobID: first.JobID, Attempt: first.Attempt}}, 0)
	a.finish(first)
	var order []string
	for range 4 {
		j := a.take()
		order = append(order, j.JobID)
		a.finish(j)
	}
	a.quiet(300 * time.Millisecond)
	if got, want := fmt.Sprint(order), "[job-1 job-2 job-3 job-4]"; got != want {
		t.Errorf("after the takeover the agent ran %v, want %v", got, want)
	}
	results := map[string]int{}
	for range 5 {
		results[c.result().JobID]++
	}
	c.quiet(300 * time.Millisecond)
	for i := range 5 {
		if id := fmt.Sprintf("job-%d", i); results[id] != 1 {
			t.Errorf("%s: %d results, want 1", id, results[id])
		}
	}
}

// A preload that the active backend's compaction overtook (its jobs ran,
// were acknowledged and purged) is refused before anything is served,
// and a backend replaying from scratch runs nothing again. Without the
// refusal the preloaded backend would take the purged jobs for waiting
// ones and end them a second time (as crashes: their descriptions are
// gone).
func TestPreload_StaleAfterACompaction(t *testing.T) {
	n := testutil.StartNATS(t)
	s1 := startBackend(t, n, nil)
	c := client(t, n, "c1")
	c.submit("early-0", 0)
	c.submit("early-1", 0)
	s2 := newServer(t, n, Options{}, nil)
	if err := s2.b.Preload(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := agentPeer(t, n, "a1")
	a.ping()
	a.hello(1, nil, 0)
	for range 2 {
		j := a.take()
		a.finish(j)
		d := c.result()
		c.send(&messages.Ack{JobID: d.JobID})
	}
	testutil.Eventually(t, wait, func() bool { return s1.records(t) == 0 }, "the acknowledged jobs were not purged")
	s1.stop()

	err := s2.run(t)
	if err == nil {
		a.hello(1, nil, 0)
		d := c.result()
		t.Fatalf("the overtaken preload served, and ended %s a second time: %s %q", d.JobID, d.Result.Status, d.Result.Text)
	}
	if !errors.Is(err, backend.ErrPreloadStale) {
		t.Fatalf("the overtaken preload ran with %v, want ErrPreloadStale", err)
	}
	startBackend(t, n, nil)
	a.hello(1, nil, 0)
	a.quiet(300 * time.Millisecond) // the early jobs are not run again
	c.submit("late", 0)
	if j := a.take(); j.JobID != "late" {
		t.Fatalf("after the takeover the agent got %s, want late", j.JobID)
	} else {
		a.finish(j)
	}
	a.quiet(300 * time.Millisecond)
	if got := c.result(); got.JobID != "late" {
		t.Errorf("result of %s, want late", got.JobID)
	}
}

// A preload stops when its context ends (the process stops while it
// stands by), without waiting for the rest of the stream.
func TestPreload_StopsWithItsContext(t *testing.T) {
	n := testutil.StartNATS(t)
	s1 := startBackend(t, n, nil)
	c := client(t, n, "c1")
	for i := range 20 {
		c.submit(fmt.Sprintf("job-%d", i), 0)
	}
	s1.stop()
	s2 := newServer(t, n, Options{}, nil)
	t.Cleanup(func() { s2.j.Close(); s2.nc.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	applied := 0
	err := s2.j.Preload(ctx, func(backend.Transition) {
		if applied++; applied == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("a preload whose context ended returned %v, want context.Canceled", err)
	}
	if applied >= 20 {
		t.Errorf("it applied all %d records after its context ended", applied)
	}
}
