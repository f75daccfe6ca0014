package journal

import (
	"fmt"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// runJobs has an agent run the given jobs of client c to success, and
// returns when c received each result, not acknowledged.
func runJobs(t *testing.T, c, a *peer, ids ...string) {
	t.Helper()
	for _, id := range ids {
		c.submit(id, 0)
		j := a.take()
		if j.JobID != id {
			t.Fatalf("agent took %s, want %s", j.JobID, id)
		}
		a.finish(j)
		if d := next[*messages.BackendJobDone](c); d.JobID != id {
			t.Fatalf("result of %s, want %s", d.JobID, id)
		}
	}
}

// A result whose client died before acknowledging it survives a backend
// restart and reaches the client's next process (same client id) when it
// says hello; once acknowledged, the job leaves the journal and the result
// is not sent again.
func TestUnackedResultSurvivesRestartUntilClientReturns(t *testing.T) {
	n := testutil.StartNATS(t)
	s1 := startBackend(t, n, nil)
	a := agentPeer(t, n, "a1")
	a.ping()
	a.hello(1, nil, 0)
	c := client(t, n, "c1")
	// The first result is acknowledged, the second only received: the
	// frontend died before storing it.
	runJobs(t, c, a, "r1", "r2")
	c.send(&messages.Ack{JobID: "r1"})
	testutil.Eventually(t, wait, func() bool { return s1.records(t) > 0 && s1.b.Stats().ResultsAcked == 1 }, "ack not counted")
	s1.stop()

	s2 := startBackend(t, n, nil)
	if got := s2.records(t); got == 0 {
		t.Fatal("the unacknowledged result's records were purged")
	}
	c2 := client(t, n, "c1") // the frontend's next process
	c2.send(&messages.ClientHello{ProtocolVersion: messages.ProtocolVersion, Name: "frontend"})
	d := c2.result()
	if d.JobID != "r2" || d.Result.Status != messages.StatusSuccess || d.Result.Text != "by a1" {
		t.Fatalf("redelivered %+v", d)
	}
	testutil.Eventually(t, wait, func() bool { return s2.records(t) == 0 }, "acknowledged result still in the journal")
	// A hello again sends nothing more: everything is acknowledged.
	c2.send(&messages.ClientHello{ProtocolVersion: messages.ProtocolVersion, Name: "frontend"})
	c2.quiet(300 * time.Millisecond)
	// The id stays taken: resubmitting it is refused, not run again.
	c2.send(sampleJob("r2", 0))
	if e := next[*messages.Error](c2); e.Code != messages.CodeDuplicateJob {
		t.Errorf("resubmission answered %v", e)
	}
}

// An alive client that does not acknowledge gets the result again every
// ResultResend, and no more once it acknowledges.
func TestResultResentUntilAcked(t *testing.T) {
	n := testutil.StartNATS(t)
	s := startBackend(t, n, func(c *backend.Config) { c.ResultResend = 150 * time.Millisecond })
	a := agentPeer(t, n, "a1")
	a.ping()
	a.hello(1, nil, 0)
	c := client(t, n, "c1")
	c.ping()
	runJobs(t, c, a, "r1")
	for i := range 2 {
		if d := next[*messages.BackendJobDone](c); d.JobID != "r1" {
			t.Fatalf("delivery %d is of %s", i, d.JobID)
		}
	}
	c.send(&messages.Ack{JobID: "r1"})
	testutil.Eventually(t, wait, func() bool { return s.b.Stats().ResultsAcked == 1 }, "ack not counted")
	// One resend may have crossed the ack.
	deadline := time.After(400 * time.Millisecond)
	extra := 0
	for done := false; !done; {
		select {
		case m := <-c.Inbox:
			if d, ok := m.(*messages.BackendJobDone); ok && d.JobID == "r1" {
				extra++
			}
		case <-deadline:
			done = true
		}
	}
	if extra > 1 {
		t.Errorf("%d results after the ack, want at most one in flight", extra)
	}
	if st := s.b.Stats(); st.ResultsResent < 2 {
		t.Errorf("ResultsResent = %d, want >= 2", st.ResultsResent)
	}
	testutil.Eventually(t, wait, func() bool { return s.records(t) == 0 }, "acknowledged result still in the journal")
}

// A result nobody acknowledges is dropped after ResultRetention, records
// and all, and counted.
func TestUnackedResultExpires(t *testing.T) {
	n := testutil.StartNATS(t)
	s := startBackend(t, n, func(c *backend.Config) { c.ResultRetention = 300 * time.Millisecond })
	a := agentPeer(t, n, "a1")
	a.ping()
	a.hello(1, nil, 0)
	c := client(t, n, "c1")
	runJobs(t, c, a, "r1")
	testutil.Eventually(t, wait, func() bool { return s.b.Stats().ResultsExpired == 1 && s.records(t) == 0 },
		"unacknowledged result not dropped after its retention")
}

// Results dropped from memory (DoneMemory) are read back from the journal
// when their client comes back for them.
func TestResultReadBackFromJournal(t *testing.T) {
	n := testutil.StartNATS(t)
	startBackend(t, n, func(c *backend.Config) { c.DoneMemory = 1 })
	a := agentPeer(t, n, "a1")
	a.ping()
	a.hello(1, nil, 0)
	c := client(t, n, "c1")
	ids := []string{"m1", "m2", "m3"}
	runJobs(t, c, a, ids...)
	c.send(&messages.ClientHello{ProtocolVersion: messages.ProtocolVersion, Name: "frontend"})
	got := map[string]int{}
	for range ids {
		d := c.result()
		if d.Result.Text != "by a1" {
			t.Errorf("%s read back as %+v", d.JobID, d.Result)
		}
		got[d.JobID]++
	}
	if fmt.Sprint(got) != "map[m1:1 m2:1 m3:1]" {
		t.Errorf("read back %v", got)
	}
}
