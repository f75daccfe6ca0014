package journal

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// openJournalWith is openJournal with options.
func openJournalWith(tb testing.TB, s *testutil.NATS, o Options, apply func(backend.Transition)) *Journal {
	tb.Helper()
	nc, err := natsconn.Connect(natsconn.Options{URL: s.URL, Name: "backend", Creds: testutil.Superuser(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	j, err := Open(context.Background(), nc, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(j.Close)
	if apply == nil {
		apply = func(backend.Transition) {}
	}
	if err := j.Replay(apply); err != nil {
		tb.Fatal(err)
	}
	return j
}

func streamState(tb testing.TB, s jetstream.Stream) jetstream.StreamState {
	tb.Helper()
	info, err := s.Info(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return info.State
}

// The descriptions are stored apart from the records: the journal stream
// holds heads, which is all a replay reads, and the inputs stream the
// students' answers, read back when a job is dispatched.
func TestDescriptionsApart(t *testing.T) {
	s := testutil.StartNATS(t)
	j := openJournal(t, s, nil)
	const jobs = 500
	answer := strings.Repeat("x", 2000)
	var ts []backend.Transition
	for i := range jobs {
		job := sampleJob(fmt.Sprintf("j%d", i), 0)
		job.InputData["q"] = answer
		ts = append(ts, &backend.JobQueued{Job: job, ClientID: "c", Seq: uint64(i + 1), At: time.Now()})
	}
	appendAll(t, j, ts...)
	records, inputs := streamState(t, j.stream), streamState(t, j.inputs)
	t.Logf("records: %d messages, %d bytes; inputs: %d messages, %d bytes", records.Msgs, records.Bytes, inputs.Msgs, inputs.Bytes)
	if inputs.Bytes < jobs*2000 || records.Bytes > inputs.Bytes/5 {
		t.Fatalf("records hold %d bytes, inputs %d: the answers are not apart", records.Bytes, inputs.Bytes)
	}
	j.Close()

	var heads int
	j2 := openJournal(t, s, func(tr backend.Transition) {
		if q, ok := tr.(*backend.JobQueued); ok && q.Job == nil && q.Head.JobID != "" {
			heads++
		}
	})
	if heads != jobs {
		t.Fatalf("the replay gave %d heads, want %d", heads, jobs)
	}
	for _, id := range []string{"j0", "j250", "j499"} {
		if q, err := j2.LoadJob(id); err != nil || q.JobID != id || q.InputData["q"] != answer {
			t.Fatalf("LoadJob(%s) = %v, %v", id, q != nil, err)
		}
	}
}

// The inputs of forgotten jobs are purged after their records, and a job
// that waits long is carried with its description: after the old input
// messages are gone, it is still read back whole, before and after a
// restart.
func TestInputsCompactedAndCarried(t *testing.T) {
	s := testutil.StartNATS(t)
	j := openJournalWith(t, s, Options{carryAfter: 50}, nil)
	if err := j.Record(&backend.JobQueued{Job: sampleJob("old", 0), ClientID: "c", Seq: 1, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	firstInput := streamState(t, j.inputs).LastSeq
	for i := range 200 {
		id := fmt.Sprintf("d%d", i)
		for _, tr := range []backend.Transition{
			&backend.JobQueued{Job: sampleJob(id, 0), ClientID: "c", Seq: uint64(i + 2), At: time.Now()},
			&backend.JobFinished{Result: &messages.BackendJobDone{JobID: id, JobResult: messages.JobResult{
				Result: messages.Result{Status: messages.StatusSuccess}}}, At: time.Now()},
		} {
			if err := j.Record(tr); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Forget(id); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, wait, func() bool {
		in := streamState(t, j.inputs)
		return in.FirstSeq > firstInput && in.Msgs <= 2
	}, "the inputs of the forgotten jobs purged, the waiting job's carried")
	if q, err := j.LoadJob("old"); err != nil || q.JobID != "old" || q.InputData["q"] != "print(1)" {
		t.Fatalf("LoadJob(old) after its carry = %+v, %v", q, err)
	}
	j.Close()
	j2 := openJournal(t, s, nil)
	if q, err := j2.LoadJob("old"); err != nil || q.JobID != "old" || q.InputData["q"] != "print(1)" {
		t.Fatalf("LoadJob(old) after a restart = %+v, %v", q, err)
	}
}

// The compaction keeps every input a live batch names, even when batches
// were noted out of the order of their inputs (a batch sent again after
// a lost ack, replayed).
func TestInputsBelow(t *testing.T) {
	cases := []struct {
		name  string
		marks []inputMark
		low   uint64
		want  uint64
	}{
		{"none", nil, 10, 1},
		{"in order", []inputMark{{2, 1}, {5, 2}, {9, 3}}, 5, 2},
		{"all below", []inputMark{{2, 1}, {5, 2}}, 10, 3},
		{"out of order", []inputMark{{2, 1}, {9, 3}, {11, 2}}, 9, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLiveness()
			for _, m := range c.marks {
				l.noteInput(m.batch, m.input)
			}
			if got := l.inputsBelow(c.low); got != c.want {
				t.Fatalf("inputsBelow(%d) = %d, want %d", c.low, got, c.want)
			}
		})
	}
}

// JetStream reserves a stream's MaxBytes on the server's disk when the
// stream is created. The journal's two streams reserve MaxBytes once, as
// the one stream did: a server that had room for the journal before its
// inputs were apart still has.
func TestOpenReservesTheBoundOnce(t *testing.T) {
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		JetStreamMaxStore: 64 << 20, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	defer s.Shutdown()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	j, err := Open(context.Background(), nc, Options{MaxBytes: 48 << 20})
	if err != nil {
		t.Fatalf("a journal of 48 MiB on a server of 64 MiB: %v", err)
	}
	j.Close()
}
