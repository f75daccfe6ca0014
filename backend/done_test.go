package backend

import (
	"fmt"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// The bytes counted against DoneMemory come back to zero once every
// finished job is gone, whichever way it went: within DoneRetention, or
// kept past it for its client's ack (an orphan) and then acked or
// expired. An orphan's result used to stay counted after it went, so
// that DoneMemory dropped newer results ever sooner.
func TestDoneBytesBalance(t *testing.T) {
	for _, end := range []string{"acked in time", "acked after retention", "expired after retention"} {
		t.Run(end, func(t *testing.T) {
			b, err := New(nil, DefaultConfig(), nil)
			if err != nil {
				t.Fatal(err)
			}
			clock := time.Unix(1_000_000, 0)
			b.now = func() time.Time { return clock }
			var want int64
			for i := range 3 {
				id := fmt.Sprintf("j%d", i)
				done := &messages.BackendJobDone{JobID: id, JobResult: messages.NewJobResult(messages.StatusSuccess, "well done", "")}
				wire, err := messages.Encode(done)
				if err != nil {
					t.Fatal(err)
				}
				b.remember("c1", &JobFinished{Result: done, Wire: wire, At: clock})
				b.track("c1", id, clock)
				want += int64(len(wire) + doneOverhead)
			}
			if b.doneBytes != want {
				t.Fatalf("doneBytes %d after three results, want %d", b.doneBytes, want)
			}
			ackAll := func() {
				for _, id := range []string{"j0", "j1", "j2"} {
					b.dropUnacked("c1", b.unacked["c1"][id])
				}
			}
			switch end {
			case "acked in time":
				ackAll()
				clock = clock.Add(b.cfg.DoneRetention + time.Second)
				b.forgetDone()
			case "acked after retention":
				clock = clock.Add(b.cfg.DoneRetention + time.Second)
				b.forgetDone() // orphans: no journal to read their results back, so kept
				ackAll()
			case "expired after retention":
				clock = clock.Add(b.cfg.DoneRetention + time.Second)
				b.forgetDone()
				clock = clock.Add(b.cfg.ResultRetention)
				b.tickResults()
			}
			if len(b.done) != 0 || b.unackedCount != 0 {
				t.Fatalf("%d done and %d unacked left", len(b.done), b.unackedCount)
			}
			if b.doneBytes != 0 {
				t.Errorf("doneBytes %d with no finished job kept, want 0", b.doneBytes)
			}
		})
	}
}
