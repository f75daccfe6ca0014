package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

func TestBatchRoundTrip(t *testing.T) {
	cases := [][]batchRecord{
		nil,
		{{id: "j1", data: []byte{0xa1, 0, 1}}},
		{{id: "j1", data: []byte("a")}, {id: "j2", data: bytes.Repeat([]byte("b"), 300)}, {id: "j1", data: []byte("c")}},
	}
	for i, records := range cases {
		data := appendBatch(nil, records)
		if !isBatch(data) {
			t.Fatalf("case %d: not a batch", i)
		}
		var got []batchRecord
		if err := eachRecord(data, func(id string, r []byte) error {
			got = append(got, batchRecord{id: id, data: r})
			return nil
		}); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if len(got) != len(records) {
			t.Fatalf("case %d: %d records, want %d", i, len(got), len(records))
		}
		for k := range got {
			if got[k].id != records[k].id || !bytes.Equal(got[k].data, records[k].data) {
				t.Fatalf("case %d record %d: %q %q", i, k, got[k].id, got[k].data)
			}
		}
		if j1, _ := recordsOf(data, "j1"); len(records) == 3 && (len(j1) != 2 || string(j1[1]) != "c") {
			t.Fatalf("recordsOf(j1) = %q", j1)
		}
	}
}

// A malformed batch is an error wrapping ErrMalformed, never a panic or a
// read beyond its end.
func TestBatchMalformed(t *testing.T) {
	good := appendBatch(nil, []batchRecord{{id: "j1", data: []byte("rec")}})
	cases := map[string][]byte{
		"no header":         []byte("rec"),
		"truncated record":  good[:len(good)-1],
		"length too large":  append([]byte(batchMagic), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		"bad varint":        append([]byte(batchMagic), 0x80),
		"empty id":          append([]byte(batchMagic), 0, 1, 'x'),
		"empty record":      append([]byte(batchMagic), 1, 'j', 0),
		"id without record": append([]byte(batchMagic), 2, 'j', '1'),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			err := eachRecord(data, func(string, []byte) error { return nil })
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("eachRecord = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzBatch(f *testing.F) {
	f.Add(appendBatch(nil, []batchRecord{{id: "j1", data: []byte("a")}, {id: "j2", data: []byte("bc")}}))
	f.Add([]byte(batchMagic))
	f.Add([]byte("IJB\x01\x02j1\x05"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var records []batchRecord
		err := eachRecord(data, func(id string, r []byte) error {
			records = append(records, batchRecord{id: id, data: r})
			return nil
		})
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// What decodes encodes back to the same bytes.
		if again := appendBatch(nil, records); !bytes.Equal(again, data) {
			t.Fatalf("re-encoded %x, read %x", again, data)
		}
	})
}

// openJournal opens a journal on server s, replayed with apply.
func openJournal(tb testing.TB, s *testutil.NATS, apply func(backend.Transition)) *Journal {
	tb.Helper()
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
	if apply == nil {
		apply = func(backend.Transition) {}
	}
	if err := j.Replay(apply); err != nil {
		tb.Fatal(err)
	}
	return j
}

// appendAll appends ts at once, as a deadline's submissions come (waiting
// while too many are not stored yet), and waits until all are stored.
func appendAll(tb testing.TB, j *Journal, ts ...backend.Transition) {
	tb.Helper()
	var last uint64
	for _, t := range ts {
		n, err := j.Append(t)
		for errors.Is(err, errBehind) {
			time.Sleep(time.Millisecond)
			n, err = j.Append(t)
		}
		if err != nil {
			tb.Fatal(err)
		}
		last = n
	}
	testutil.Eventually(tb, wait, func() bool { return j.Stored() >= last || j.Err() != nil }, "appends stored")
	if err := j.Err(); err != nil {
		tb.Fatal(err)
	}
}

// Transitions appended together are stored as a few messages (group
// commit), and read back one by one, in order, by a replay, LoadJob and
// LoadResult.
func TestGroupCommitBatchesRecords(t *testing.T) {
	s := testutil.StartNATS(t)
	j := openJournal(t, s, nil)
	const jobs = 2000
	var ts []backend.Transition
	for i := range jobs {
		id := fmt.Sprintf("j%d", i)
		ts = append(ts,
			&backend.JobQueued{Job: sampleJob(id, 0), ClientID: "c", Seq: uint64(i + 1), At: time.Now()},
			&backend.JobAssigned{JobID: id, AgentID: "a1", Attempt: 1, At: time.Now()},
			&backend.JobFinished{Result: &messages.BackendJobDone{JobID: id, JobResult: messages.JobResult{
				Result: messages.Result{Status: messages.StatusSuccess, Text: "ok " + id}, Grade: float64(i % 100)}}, At: time.Now()})
	}
	appendAll(t, j, ts...)
	msgs, err := j.Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records in %d messages", 3*jobs, msgs)
	if msgs >= 3*jobs/4 {
		t.Fatalf("%d records stored as %d messages: not batched", 3*jobs, msgs)
	}
	if r, err := j.LoadResult("j1234"); err != nil || r.Result.Text != "ok j1234" || r.Grade != 34 {
		t.Fatalf("LoadResult(j1234) = %+v, %v", r, err)
	}
	if q, err := j.LoadJob("j1999"); err != nil || q.JobID != "j1999" {
		t.Fatalf("LoadJob(j1999) = %+v, %v", q, err)
	}

	j.Close() // the replay below is the next backend's
	var order []string
	openJournal(t, s, func(tr backend.Transition) {
		order = append(order, fmt.Sprintf("%T %s", tr, backend.TransitionJobID(tr)))
	})
	if len(order) != 3*jobs {
		t.Fatalf("replay applied %d transitions, want %d", len(order), 3*jobs)
	}
	for i := range jobs {
		for k, kind := range []string{"*backend.JobQueued", "*backend.JobAssigned", "*backend.JobFinished"} {
			if want := fmt.Sprintf("%s j%d", kind, i); order[3*i+k] != want {
				t.Fatalf("replay transition %d is %q, want %q", 3*i+k, order[3*i+k], want)
			}
		}
	}
}

// A journal written before batches (one message per record, on the job's
// subject) is still read: replayed, its descriptions and results read
// back, and new records appended after it in batches.
func TestOlderLayoutStillRead(t *testing.T) {
	s := testutil.StartNATS(t)
	first := openJournal(t, s, nil)
	ctx := context.Background()
	for _, tr := range []backend.Transition{
		&backend.JobQueued{Job: sampleJob("old1", 0), ClientID: "c", Seq: 1, At: time.Now()},
		&backend.JobQueued{Job: sampleJob("old2", 0), ClientID: "c", Seq: 2, At: time.Now()},
		&backend.JobAssigned{JobID: "old2", AgentID: "a1", Attempt: 1, At: time.Now()},
		&backend.JobFinished{Result: &messages.BackendJobDone{JobID: "old2", JobResult: messages.JobResult{
			Result: messages.Result{Status: messages.StatusFailed, Text: "no"}}}, At: time.Now()},
	} {
		data, err := Encode(tr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := first.js.Publish(ctx, subj.Journal(backend.TransitionJobID(tr)), data,
			jetstream.WithExpectStream(subj.JournalStream())); err != nil {
			t.Fatal(err)
		}
	}
	first.Close()
	var kinds []string
	j := openJournal(t, s, func(tr backend.Transition) {
		kinds = append(kinds, strings.TrimPrefix(fmt.Sprintf("%T", tr), "*backend."))
	})
	if got := strings.Join(kinds, " "); got != "JobQueued JobQueued JobAssigned JobFinished" {
		t.Fatalf("replayed %s", got)
	}
	if q, err := j.LoadJob("old1"); err != nil || q.InputData["q"] != "print(1)" {
		t.Fatalf("LoadJob(old1) = %+v, %v", q, err)
	}
	if r, err := j.LoadResult("old2"); err != nil || r.Result.Status != messages.StatusFailed {
		t.Fatalf("LoadResult(old2) = %+v, %v", r, err)
	}
	if err := j.Record(&backend.JobAssigned{JobID: "old1", AgentID: "a2", Attempt: 1, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := j.Record(&backend.JobFinished{Result: &messages.BackendJobDone{JobID: "old1", JobResult: messages.JobResult{
		Result: messages.Result{Status: messages.StatusSuccess, Text: "new"}}}, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if r, err := j.LoadResult("old1"); err != nil || r.Result.Text != "new" {
		t.Fatalf("LoadResult(old1) after a batch = %+v, %v", r, err)
	}
	if q, err := j.LoadJob("old1"); err != nil || q.JobID != "old1" {
		t.Fatalf("LoadJob(old1) after a batch = %+v, %v", q, err)
	}
}

// A carry is appended only if the job's records are still where they were
// read: otherwise the copy could miss a record, or land after one, and a
// replay would apply the job's history out of order.
func TestCarryOfAChangedJobIsDropped(t *testing.T) {
	s := testutil.StartNATS(t)
	j := openJournal(t, s, nil)
	if err := j.Record(&backend.JobQueued{Job: sampleJob("x", 0), ClientID: "c", Seq: 1, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	before, _ := j.Records(context.Background())
	seqs := j.live.seqs("x")
	stale := carryRequest{id: "x", seqs: append(seqs, 999), records: [][]byte{[]byte("old copy")}, result: make(chan error, 1)}
	j.async.mu.Lock()
	j.async.carries = append(j.async.carries, stale)
	j.async.mu.Unlock()
	j.wakeWriter()
	if err := <-stale.result; !errors.Is(err, errCarryStale) {
		t.Fatalf("carry of a changed job: %v, want errCarryStale", err)
	}
	if after, _ := j.Records(context.Background()); after != before {
		t.Fatalf("%d messages after a dropped carry, want %d", after, before)
	}
	// The job as it is: carried, one message at the head holding it all.
	if err := j.carry("x"); err != nil {
		t.Fatal(err)
	}
	if now := j.live.seqs("x"); len(now) != 1 || now[0] <= seqs[0] {
		t.Fatalf("after the carry the job is in messages %v, was in %v", now, seqs)
	}
	if q, err := j.LoadJob("x"); err != nil || q.JobID != "x" {
		t.Fatalf("LoadJob after the carry = %+v, %v", q, err)
	}
}

// The batches read last are kept, the most recently used first, so that
// a round of loads over a few batches reads each once.
func TestRecentBatches(t *testing.T) {
	var r recentBatches
	for seq := uint64(1); seq <= recentBatchesKept; seq++ {
		r.put(seq, []byte{byte(seq)})
	}
	if r.get(1) == nil { // used again: now the most recent
		t.Fatal("batch 1 forgotten")
	}
	r.put(100, []byte{100}) // evicts the least recently used: 2
	if r.get(2) != nil || r.get(1) == nil || r.get(100) == nil || r.get(3) == nil {
		t.Fatalf("kept %v", r.entries)
	}
	if len(r.entries) != recentBatchesKept {
		t.Fatalf("%d kept, want %d", len(r.entries), recentBatchesKept)
	}
}
