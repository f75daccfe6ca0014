package journal

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// openFilled opens a journal on a fresh server with n queued jobs stored.
func openFilled(tb testing.TB, n int) *Journal {
	tb.Helper()
	s := testutil.StartNATS(tb)
	nc, err := natsconn.Connect(natsconn.Options{URL: s.URL, Name: "backend", Creds: testutil.Superuser(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	j, err := Open(context.Background(), nc, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(j.Close)
	if err := j.Replay(func(backend.Transition) {}); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		if err := j.Record(&backend.JobQueued{Job: sampleJob(fmt.Sprintf("j%d", i), 0), ClientID: "c", Seq: uint64(i + 1), At: time.Now()}); err != nil {
			tb.Fatal(err)
		}
	}
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
// dispatch: one direct get of the job's first record.
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
