package journal

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

func TestBatchRoundTrip(t *testing.T) {
	cases := []struct {
		records []batchRecord
		input   uint64
	}{
		{nil, 0},
		{[]batchRecord{{id: "j1", data: []byte{0xa1, 0, 1}}}, 0},
		{[]batchRecord{{id: "j1", data: []byte("a"), job: []byte("J1")}, {id: "j2", data: bytes.Repeat([]byte("b"), 300)},
			{id: "j1", data: []byte("c")}, {id: "j3", data: []byte("d"), job: []byte("J3")}}, 7},
	}
	for i, c := range cases {
		data := appendBatch(nil, c.records, c.input)
		if !isBatch(data) {
			t.Fatalf("case %d: not a batch", i)
		}
		var got []storedRecord
		input, err := eachStored(data, func(r storedRecord) error {
			got = append(got, r)
			return nil
		})
		if err != nil || input != c.input {
			t.Fatalf("case %d: input %d, %v", i, input, err)
		}
		if len(got) != len(c.records) {
			t.Fatalf("case %d: %d records, want %d", i, len(got), len(c.records))
		}
		inputs := appendInputs(nil, c.records)
		for k, r := range c.records {
			if got[k].id != r.id || !bytes.Equal(got[k].data, r.data) || (got[k].input != 0) != (r.job != nil) {
				t.Fatalf("case %d record %d: %+v", i, k, got[k])
			}
			if r.job != nil {
				if job, err := inputOf(inputs, got[k].input, r.id); err != nil || !bytes.Equal(job, r.job) {
					t.Fatalf("case %d record %d: description %q, %v", i, k, job, err)
				}
				if _, err := inputOf(inputs, got[k].input, "other"); !errors.Is(err, ErrMalformed) {
					t.Fatalf("case %d record %d: another job's description: %v", i, k, err)
				}
			}
		}
		if j1, _, _ := jobRecords(data, "j1"); len(c.records) == 4 && (len(j1) != 2 || string(j1[1].data) != "c" || j1[0].input != 1) {
			t.Fatalf("jobRecords(j1) = %+v", j1)
		}
	}
	if in := appendInputs(nil, []batchRecord{{id: "j1", data: []byte("a")}}); len(in) != 0 {
		t.Fatalf("an input message without descriptions: %q", in)
	}
}

// A batch of the version before descriptions apart is still read.
func TestBatchVersion1(t *testing.T) {
	data := appendBatchV1([]batchRecord{{id: "j1", data: []byte("a")}, {id: "j2", data: []byte("bc")}})
	var got []storedRecord
	input, err := eachStored(data, func(r storedRecord) error {
		got = append(got, r)
		return nil
	})
	if err != nil || input != 0 || len(got) != 2 || got[1].id != "j2" || string(got[1].data) != "bc" || got[0].input != 0 {
		t.Fatalf("read %+v, input %d, %v", got, input, err)
	}
}

// appendBatchV1 is a batch as version 1 wrote it: no input sequence, no
// description field.
func appendBatchV1(records []batchRecord) []byte {
	dst := []byte(batchMagicV1)
	for _, r := range records {
		dst = binary.AppendUvarint(dst, uint64(len(r.id)))
		dst = append(dst, r.id...)
		dst = binary.AppendUvarint(dst, uint64(len(r.data)))
		dst = append(dst, r.data...)
	}
	return dst
}

// A malformed batch is an error wrapping ErrMalformed, never a panic or a
// read beyond its end.
func TestBatchMalformed(t *testing.T) {
	good := appendBatch(nil, []batchRecord{{id: "j1", data: []byte("rec")}}, 0)
	v2 := batchMagic + "\x05"
	cases := map[string][]byte{
		"no header":                []byte("rec"),
		"truncated record":         good[:len(good)-1],
		"no input sequence":        []byte(batchMagic),
		"length too large":         append([]byte(v2), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		"bad varint":               append([]byte(v2), 0x80),
		"empty id":                 append([]byte(v2), 0, 0, 1, 'x'),
		"empty record":             append([]byte(v2), 1, 'j', 0, 0),
		"id without record":        append([]byte(v2), 2, 'j', '1'),
		"description out of order": append([]byte(v2), 1, 'j', 2, 1, 'x'),
		"description, no input":    append([]byte(batchMagic+"\x00"), 1, 'j', 1, 1, 'x'),
		"version 1, empty record":  append([]byte(batchMagicV1), 1, 'j', 0),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := eachStored(data, func(storedRecord) error { return nil })
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("eachStored = %v, want ErrMalformed", err)
			}
		})
	}
	inputs := appendInputs(nil, []batchRecord{{id: "j1", data: []byte("a"), job: []byte("J")}})
	for name, c := range map[string]struct {
		data  []byte
		index int
	}{
		"not an input message": {good, 1},
		"no such description":  {inputs, 2},
		"truncated":            {inputs[:len(inputs)-1], 1},
	} {
		if _, err := inputOf(c.data, c.index, "j1"); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: inputOf = %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzBatch(f *testing.F) {
	f.Add(appendBatch(nil, []batchRecord{{id: "j1", data: []byte("a"), job: []byte("J")}, {id: "j2", data: []byte("bc")}}, 3))
	f.Add([]byte(batchMagic + "\x00"))
	f.Add([]byte("IJB\x02\x00\x02j1\x00\x05"))
	f.Add(appendBatchV1([]batchRecord{{id: "j1", data: []byte("a")}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var records []batchRecord
		input, err := eachStored(data, func(r storedRecord) error {
			br := batchRecord{id: r.id, data: r.data}
			if r.input != 0 {
				br.job = []byte{}
			}
			records = append(records, br)
			return nil
		})
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// What decodes encodes back to the same bytes.
		again := appendBatch(nil, records, input)
		if !hasMagic(data, batchMagic) {
			again = appendBatchV1(records)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("re-encoded %x, read %x", again, data)
		}
	})
}

// openJournal opens a journal on server s, replayed with apply.
func openJournal(tb testing.TB, s *testutil.NATS, apply func(backend.Transition)) *Journal {
	tb.Helper()
	return openJournalWith(tb, s, Options{}, apply)
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
// subject) or before descriptions apart (batches of version 1) is still
// read: replayed, its descriptions and results read back, and new records
// appended after it in batches.
func TestOlderLayoutStillRead(t *testing.T) {
	s := testutil.StartNATS(t)
	first := olderJournal(t, s)
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
	// Then a batch of version 1, its descriptions inside its records.
	data, err := Encode(&backend.JobQueued{Job: sampleJob("old3", 0), ClientID: "c", Seq: 3, At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.js.Publish(ctx, subj.JournalBatch(), appendBatchV1([]batchRecord{{id: "old3", data: data}}),
		jetstream.WithExpectStream(subj.JournalStream())); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	j := openJournal(t, s, func(tr backend.Transition) {
		kinds = append(kinds, strings.TrimPrefix(fmt.Sprintf("%T", tr), "*backend."))
	})
	if got := strings.Join(kinds, " "); got != "JobQueued JobQueued JobAssigned JobFinished JobQueued" {
		t.Fatalf("replayed %s", got)
	}
	if q, err := j.LoadJob("old3"); err != nil || q.InputData["q"] != "print(1)" {
		t.Fatalf("LoadJob(old3) = %+v, %v", q, err)
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
	stale := carryRequest{id: "x", seqs: append(seqs, 999), records: []batchRecord{{id: "x", data: []byte("old copy")}}, result: make(chan error, 1)}
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

// The messages read last are kept up to a number of bytes, the least
// recently used going first, so that a round of loads over a few batches
// reads each once.
func TestRecentBatches(t *testing.T) {
	r := recentBatches{budget: 10}
	for seq := uint64(1); seq <= 5; seq++ {
		r.put(seq, []byte{byte(seq), 0})
	}
	if r.get(1) == nil { // used again: now the most recent
		t.Fatal("batch 1 forgotten")
	}
	r.put(100, []byte{100, 0}) // over the budget: the least recently used, 2, goes
	if r.get(2) != nil || r.get(1) == nil || r.get(100) == nil || r.get(3) == nil {
		t.Fatal("the least recently used was not the one to go")
	}
	if r.bytes != 10 || r.order.Len() != 5 || len(r.bySeq) != 5 {
		t.Fatalf("%d bytes in %d messages (%d indexed), want 10 in 5", r.bytes, r.order.Len(), len(r.bySeq))
	}
	r.put(200, make([]byte, 50)) // larger than the budget: kept alone
	if r.get(200) == nil || r.order.Len() != 1 || r.bytes != 50 {
		t.Fatalf("a message over the budget: %d kept, %d bytes", r.order.Len(), r.bytes)
	}
}

// olderLayout is a journal stream as a backend before spaces (space.go)
// made it: what it holds, and a JetStream handle to write more as it did.
type olderLayout struct{ js jetstream.JetStream }

func olderJournal(t *testing.T, s *testutil.NATS) olderLayout {
	t.Helper()
	js := testutil.SuperJS(t, s.URL)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: subj.JournalStream(),
		Subjects: []string{subj.JournalAll()}, AllowDirect: true}); err != nil {
		t.Fatal(err)
	}
	return olderLayout{js: js}
}
