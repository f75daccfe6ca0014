package journal

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// A journal near its bound refuses new jobs with a clear error, before
// JetStream would refuse a record, and loses none of those it took: after
// a restart they all wait. (Its stream once dropped its oldest records
// when full: a quarter of a million waiting jobs vanished.)
func TestFullJournalRefusesNewJobsAndKeepsItsJobs(t *testing.T) {
	n := testutil.StartNATS(t)
	s1 := startBackendWith(t, n, Options{MaxBytes: 1 << 20}, nil)
	c := client(t, n, "c1")
	answer := strings.Repeat("x", 2048)
	accepted := 0
	for i := range 2000 {
		j := sampleJob(fmt.Sprintf("f%04d", i), 0)
		j.InputData["q"] = answer
		c.send(j)
		m := <-c.Inbox
		if e, ok := m.(*messages.Error); ok {
			if e.Code != messages.CodeUnavailable || !strings.Contains(e.Text, "journal is nearly full") || !strings.Contains(e.Text, "backend.journal-max-bytes") {
				t.Fatalf("job %d refused with %+v", i, e)
			}
			break
		}
		if q, ok := m.(*messages.BackendJobQueued); !ok || q.JobID != j.JobID {
			t.Fatalf("job %d answered %T %+v", i, m, m)
		}
		accepted++
	}
	if accepted == 0 || accepted == 2000 {
		t.Fatalf("%d of 2000 jobs of 2 KiB accepted by a journal of 1 MiB", accepted)
	}
	if s := s1.b.Stats(); s.JournalErrors != 0 {
		t.Fatalf("the journal refused records: %+v", s)
	}
	s1.stop()

	s2 := startBackendWith(t, n, Options{MaxBytes: 1 << 20}, nil)
	if g := s2.b.Gauges(); g.Waiting != accepted {
		t.Fatalf("after the restart %d jobs wait, want the %d accepted", g.Waiting, accepted)
	}
}
