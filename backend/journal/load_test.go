package journal

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// openFilled opens a journal on a fresh server with n queued jobs stored,
// appended at once as a deadline's are (so in batches).
func openFilled(tb testing.TB, n int) *Journal {
	tb.Helper()
	j := openJournal(tb, testutil.StartNATS(tb), nil)
	ts := make([]backend.Transition, n)
	for i := range n {
		ts[i] = &backend.JobQueued{Job: sampleJob(fmt.Sprintf("j%d", i), 0), ClientID: "c", Seq: uint64(i + 1), At: time.Now()}
	}
	appendAll(tb, j, ts...)
	return j
}

// LoadJob reads back exactly the job that was recorded; a job with no
// record is ErrNoDescription, which the backend takes as gone for good.
func TestLoadJob(t *testing.T) {
	j := openFilled(t, 3)
	got, err := j.LoadJob("j1")
	if err != nil {
		t.Fatal(err)
	}
	if got.JobID != "j1" || got.InputData["q"] != "print(1)" || got.Launcher != "test" {
		t.Fatalf("LoadJob(j1) = %+v", got)
	}
	if _, err := j.LoadJob("nope"); !errors.Is(err, backend.ErrNoDescription) {
		t.Fatalf("LoadJob(nope) = %v, want ErrNoDescription", err)
	}
}

// BenchmarkLoadJob is the cost of reading a spilled description back at
// dispatch, in the order stored: a direct get of the batch holding the
// job's first record, or none when it is one of the last batches read.
func BenchmarkLoadJob(b *testing.B) {
	j := openFilled(b, 1000)
	b.ResetTimer()
	for i := range b.N {
		if _, err := j.LoadJob(fmt.Sprintf("j%d", i%1000)); err != nil {
			b.Fatal(err)
		}
	}
}

// A record the direct get does not find is asked of the stream leader
// before the job is given up: here the leader's answer is what decides.
func TestReadRecordAsksTheLeaderBeforeGivingUp(t *testing.T) {
	j := openFilled(t, 1)
	if _, err := j.readRecord(context.Background(), 999); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("readRecord(999) = %v, want not found", err)
	}
	data, err := j.readRecord(context.Background(), 1)
	if err != nil || len(data) == 0 {
		t.Fatalf("readRecord(1) = %d bytes, %v", len(data), err)
	}
}
