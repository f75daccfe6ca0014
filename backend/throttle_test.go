package backend

import (
	"fmt"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/fairuse"
	"github.com/ingo-grader/ingo/messages"
)

// sendQueueBatch sends n queue snapshot requests in one NATS message, as
// a flooding frontend would (5 KB for 1,024).
func sendQueueBatch(t *testing.T, p *peer, n int) {
	t.Helper()
	data, err := messages.Encode(&messages.ClientGetQueue{})
	if err != nil {
		t.Fatal(err)
	}
	items := make([][]byte, n)
	for i := range items {
		items[i] = data
	}
	if err := messages.Pack(items, 1<<20, func(payload []byte, _ int) error {
		return p.NC.Publish(p.Target, payload)
	}); err != nil {
		t.Fatal(err)
	}
}

// answers counts the snapshots and the refusals p gets within d.
func answers(p *peer, d time.Duration) (snapshots, refusals int) {
	for _, m := range collect[messages.Message](p, d) {
		switch m := m.(type) {
		case *messages.BackendGetQueue:
			snapshots++
		case *messages.Error:
			if m.Code == messages.CodeThrottled {
				refusals++
			}
		}
	}
	return snapshots, refusals
}

// TestFrontendQueueSnapshotsBounded: a frontend's flood of snapshot
// requests gets the budget's count answered and the rest refused
// (unavailable), while another frontend and an admin are still served.
// Before, every request was answered, each costing the event loop that
// everybody shares a play of the dispatch order.
func TestFrontendQueueSnapshotsBounded(t *testing.T) {
	r := newRig(t, nil)
	flooder, other, ops := r.client("c1"), r.client("c2"), r.admin("ops")
	want := int(defaultQueueBudget.Burst / defaultQueueBudget.Least) // 200
	sendQueueBatch(t, flooder, 3*want/2)
	got, refused := answers(flooder, time.Second)
	// At least 90 %: a snapshot slowed past its least cost (a collection,
	// a loaded CI machine) takes more of the budget.
	if got < want*9/10 || got > want+want/20 || got+refused != 3*want/2 {
		t.Fatalf("the flooder got %d snapshots and %d refusals, want about %d and the rest", got, refused, want)
	}
	if s := r.b.Stats(); s.Throttled != int64(refused) {
		t.Fatalf("throttled %d, want %d", s.Throttled, refused)
	}
	// A refused query names itself: its caller fails at once, not at
	// its timeout.
	sendQueueBatch(t, flooder, want)
	flooder.send(&messages.ClientGetQueue{Ref: "mine", PerQueue: 5})
	named := false
	for _, m := range collect[messages.Message](flooder, time.Second) {
		if e, ok := m.(*messages.Error); ok && e.Code == messages.CodeThrottled && e.Ref == "mine" {
			named = true
		}
	}
	if !named {
		t.Fatal("no throttled refusal with the request's Ref")
	}
	other.send(&messages.ClientGetQueue{})
	next[*messages.BackendGetQueue](other)
	sendQueueBatch(t, ops, 3*want/2)
	if got, refused := answers(ops, time.Second); got != 3*want/2 || refused != 0 {
		t.Fatalf("the admin got %d snapshots and %d refusals", got, refused)
	}
}

// TestExpensiveSnapshotsTakeTheirShare: what bounds a frontend is the
// loop time its snapshots took, not their count: with many waiting jobs
// of many courses each takes milliseconds, and a budget of one
// millisecond at once answers one or two of a batch. An admin's are
// bounded too, more loosely: the HTTP API is one admin asking for all its
// tokens, and a frontend token's flood of GET /api/v1/queue held the loop.
func TestExpensiveSnapshotsTakeTheirShare(t *testing.T) {
	tight := fairuse.Budget{Share: 0.05, Burst: time.Millisecond, Least: time.Microsecond}
	tests := []struct {
		name  string
		admin bool
	}{
		{"frontend", false},
		{"admin", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, func(c *Config) { c.queueBudget, c.adminQueueBudget = tight, tight })
			c := r.client("c1")
			asker := r.client("c2")
			if tt.admin {
				asker = r.admin("ops")
			}
			const jobs = 2000
			for i := range jobs {
				j := newJob(fmt.Sprintf("j%d", i), "nothere", 0)
				j.CourseID = fmt.Sprintf("course%d", i%50)
				j.WaitForEnvironment = true
				c.send(j)
			}
			for range jobs {
				next[*messages.BackendJobQueued](c)
			}
			sendQueueBatch(t, asker, 30)
			if got, refused := answers(asker, time.Second); got > 3 || got+refused != 30 {
				t.Fatalf("got %d snapshots and %d refusals of 30", got, refused)
			}
		})
	}
}
