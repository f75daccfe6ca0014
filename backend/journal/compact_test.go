package journal

import (
	"fmt"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// Delivered jobs leave the journal by compaction, and a job that waits
// long (no agent offers its environment) does not keep every later record
// in the stream: its records are carried to the head, the rest goes, and
// after a restart it still waits, then runs once an agent offers its
// environment.
func TestCompaction_CarriesALongLivedJob(t *testing.T) {
	n := testutil.StartNATS(t)
	s1 := startBackendWith(t, n, Options{carryAfter: 60}, nil)
	c := client(t, n, "c1")
	old := sampleJob("old", 0)
	old.Environment, old.WaitForEnvironment = "nowhere", true
	c.send(old)
	if q := next[*messages.BackendJobQueued](c); q.JobID != "old" {
		t.Fatalf("queued %+v", q)
	}
	a := agentPeer(t, n, "a1")
	a.ping()
	a.hello(1, nil, 0)
	for i := range 100 {
		id := fmt.Sprintf("r%03d", i)
		runJobs(t, c, a, id)
		c.send(&messages.Ack{JobID: id})
	}
	// 300 records were written for the delivered jobs; compaction keeps
	// only the long-lived job's (carried) and the last ones.
	testutil.Eventually(t, wait, func() bool { return s1.records(t) <= 60 }, "records of delivered jobs kept behind the waiting one")
	s1.stop()

	s2 := startBackend(t, n, nil)
	if got := s2.records(t); got == 0 {
		t.Fatal("the waiting job's records were compacted away")
	}
	b := agentPeer(t, n, "b1")
	b.ping()
	b.send(&messages.AgentHello{ProtocolVersion: messages.ProtocolVersion, FriendlyName: "b1", AvailableJobSlots: 1,
		AvailableEnvironments: map[string]map[string]messages.EnvironmentInfo{"docker": {"nowhere": {ID: "img", Advertised: true}}},
		Session:               "b1-s1"})
	next[*messages.Ack](b)
	// The replay left its description in the stream: it is read back from
	// the carried copy.
	if j := b.take(); j.JobID != "old" || j.Attempt != 1 || j.InputData["q"] != "print(1)" || j.TaskID != "t" {
		t.Fatalf("after the restart the agent got %+v, want the job that waited, whole", j)
	}
}

// A job is carried only when that lets the purge drop many records: one
// long-lived job in front of delivered ones is; a deadline's queue of
// live jobs side by side is not (it would copy them all, for nothing).
func TestLiveness_CarriesOnlyWhatPays(t *testing.T) {
	cases := []struct {
		name  string
		build func(l *liveness)
		want  int
	}{
		{"one old job, then delivered ones", func(l *liveness) {
			l.stored("old", 1)
			for i := uint64(2); i <= 1000; i++ {
				id := fmt.Sprintf("d%d", i)
				l.stored(id, i)
				l.forget(id)
			}
		}, 1},
		{"a queue of live jobs side by side", func(l *liveness) {
			for i := uint64(1); i <= 1000; i++ {
				l.stored(fmt.Sprintf("w%d", i), i)
			}
		}, 0},
		{"two old jobs, a gap, then young live jobs", func(l *liveness) {
			l.stored("a", 1)
			l.stored("b", 2)
			for i := uint64(3); i <= 700; i++ {
				id := fmt.Sprintf("d%d", i)
				l.stored(id, i)
				l.forget(id)
			}
			for i := uint64(701); i <= 1000; i++ {
				l.stored(fmt.Sprintf("y%d", i), i)
			}
		}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLiveness()
			c.build(l)
			if _, behind := l.front(carryPerTick, 500); len(behind) != c.want {
				t.Fatalf("carried %d jobs (%v), want %d", len(behind), behind, c.want)
			}
		})
	}
}
