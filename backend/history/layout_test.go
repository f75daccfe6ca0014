package history_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend/history"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/streamspace"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// superuser is a connection that may do anything, closed with the test.
func superuser(t *testing.T, n *testutil.NATS) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(n.URL, testutil.Superuser(t).NATSOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func superJS(t *testing.T, n *testutil.NATS) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(superuser(t, n))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// olderStream makes the history stream as the versions before its space
// (internal/streamspace) made it: on every history subject.
func olderStream(t *testing.T, n *testutil.NATS) jetstream.JetStream {
	t.Helper()
	js := superJS(t, n)
	// Right after a stream of that name was deleted (tests that make it
	// again), the server may still be removing its files: retried as
	// the stores' own creations are.
	if err := natsconn.RetryStoreFailed(context.Background(), func() error {
		_, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: subj.HistoryStream(),
			Subjects: []string{subj.HistoryAll()}, MaxMsgsPerSubject: 1, AllowDirect: true})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return js
}

// space is the history stream's space, as a backend reads it.
func space(t *testing.T, n *testutil.NATS) string {
	t.Helper()
	s, err := superJS(t, n).Stream(context.Background(), subj.HistoryStream())
	if err != nil {
		t.Fatal(err)
	}
	sp := streamspace.Of(s.CachedInfo().Config.Subjects, subj.HistoryBatch(""))
	if sp == "" {
		t.Fatalf("no space in the history stream's subjects %v", s.CachedInfo().Config.Subjects)
	}
	return sp
}

// storedMessages is what the history stream holds, by subject.
func storedMessages(t *testing.T, n *testutil.NATS) map[string]uint64 {
	t.Helper()
	s, err := superJS(t, n).Stream(context.Background(), subj.HistoryStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subj.HistoryAll()))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects
}

// openStore opens a Store on a superuser connection, closed with the
// test.
func openStore(t *testing.T, n *testutil.NATS, o history.Options) *history.Store {
	t.Helper()
	st, err := history.Open(context.Background(), superuser(t, n), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func record(id, client, course string, status messages.Status, text string) *messages.JobRecord {
	return &messages.JobRecord{JobID: id, ClientID: client, CourseID: course, TaskID: "t", FinishedAt: time.Now().UnixMilli(),
		JobResult: messages.JobResult{Result: messages.Result{Status: status, Text: text}, Grade: 42}}
}

// Records handed over together are stored together, many to a message on
// a batch subject, their summaries in a message beside it; each is read whole by its job id, and pages list each
// once, newest first, also from a store that read them from the stream
// (another process, or after a restart).
func TestRecordsInBatches(t *testing.T) {
	n := testutil.StartNATS(t)
	const jobs = 3000
	st, err := history.Open(context.Background(), superuser(t, n), history.Options{Log: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range jobs {
		st.Add(record(fmt.Sprintf("j%d", i), "alice", []string{"c1", "c2"}[i%2], messages.StatusSuccess, fmt.Sprintf("text of j%d", i)))
	}
	st.Close() // waits for every record to be stored
	if s := st.Stats(); s.Written != jobs || s.Failed != 0 || s.Batches == 0 {
		t.Fatalf("stats %+v, want %d written", s, jobs)
	}
	stored := storedMessages(t, n)
	for subject := range stored {
		id, ok := strings.CutPrefix(subject, subj.HistoryBatch(""))
		if !ok {
			if _, ok := strings.CutPrefix(subject, subj.HistorySummaries("")); !ok {
				t.Errorf("a message on %s, want batches and their summaries only", subject)
			}
			continue
		}
		if stored[subj.HistorySummaries(id)] != 1 {
			t.Errorf("batch %s has no summaries", id)
		}
	}
	if len(stored) >= jobs/4 {
		t.Errorf("%d messages for %d records handed over at once: not batched", len(stored), jobs)
	}
	t.Logf("%d records in %d messages", jobs, len(stored))

	st = openStore(t, n, history.Options{})
	for i := 0; i < jobs; i += 97 {
		id := fmt.Sprintf("j%d", i)
		r, err := st.Get(context.Background(), history.Viewer{ClientID: "alice"}, id)
		if err != nil || r.JobID != id || r.Summary || r.Result.Text != "text of "+id {
			t.Fatalf("%s by id: %+v, %v", id, r, err)
		}
	}
	var got []string
	q := &messages.ClientGetHistory{Limit: 700, CourseID: "c2"}
	for {
		page, next, err := st.List(context.Background(), history.Viewer{ClientID: "alice"}, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if !r.Summary || r.Result.Text != "" || r.CourseID != "c2" {
				t.Fatalf("listed %+v, want a summary of c2", r)
			}
			got = append(got, r.JobID)
		}
		if next == 0 {
			break
		}
		q.Cursor = next
	}
	var want []string
	for i := jobs - 1; i >= 0; i-- {
		if i%2 == 1 {
			want = append(want, fmt.Sprintf("j%d", i))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages of c2 listed %d jobs (%v ...), want %d newest first", len(got), got[:min(5, len(got))], len(want))
	}
	if page, _, err := st.List(context.Background(), history.Viewer{ClientID: "mallory"}, &messages.ClientGetHistory{}); err != nil || len(page) != 0 {
		t.Errorf("another frontend's listing: %d jobs, %v", len(page), err)
	}
}

// A job stored again (the next backend's replay of a finished job) is
// listed once, by its newest record, which its id reads.
func TestStoredAgainListedOnce(t *testing.T) {
	n := testutil.StartNATS(t)
	st := openStore(t, n, history.Options{})
	st.Add(record("a", "alice", "c1", messages.StatusSuccess, "first"))
	st.Add(record("b", "alice", "c1", messages.StatusSuccess, "b"))
	testutil.Eventually(t, wait, func() bool { return st.Stats().Written == 2 }, "2 records stored")
	st.Add(record("a", "alice", "c1", messages.StatusFailed, "again"))
	testutil.Eventually(t, wait, func() bool { return st.Stats().Written == 3 }, "stored again")
	for _, st := range []*history.Store{st, openStore(t, n, history.Options{})} {
		page, _, err := st.List(context.Background(), history.Viewer{Admin: true}, &messages.ClientGetHistory{})
		if err != nil || len(page) != 2 || page[0].JobID != "a" || page[0].Result.Status != messages.StatusFailed || page[1].JobID != "b" {
			t.Errorf("listed %+v, %v; want a (failed), then b", page, err)
		}
		if r, err := st.Get(context.Background(), history.Viewer{Admin: true}, "a"); err != nil || r.Result.Text != "again" {
			t.Errorf("a by id: %+v, %v; want the record stored again", r, err)
		}
	}
}

// What the retention removed from the stream is gone from the index:
// not read by id, not listed.
func TestRetentionEmptiesTheIndex(t *testing.T) {
	n := testutil.StartNATS(t)
	st := openStore(t, n, history.Options{Retention: time.Second})
	st.Add(record("a", "alice", "c1", messages.StatusSuccess, "a"))
	testutil.Eventually(t, wait, func() bool {
		_, err := st.Get(context.Background(), history.Viewer{Admin: true}, "a")
		return err == nil
	}, "a stored")
	testutil.Eventually(t, wait, func() bool {
		_, err := st.Get(context.Background(), history.Viewer{Admin: true}, "a")
		page, _, lerr := st.List(context.Background(), history.Viewer{Admin: true}, &messages.ClientGetHistory{})
		return errors.Is(err, history.ErrNotFound) && lerr == nil && len(page) == 0
	}, "a gone after the retention")
}

// A job through the backend is one record in a batch message: read whole
// by its id, a summary in a listing.
func TestBackendRecordsReadWholeAndListed(t *testing.T) {
	n := testutil.StartNATS(t)
	startBackend(t, n, history.Options{MaxArchive: 1 << 20})
	c, a := peer(t, n, "alice", false), peer(t, n, "ag1", true)
	hello(a)
	for i := range 3 {
		run(t, c, a, fmt.Sprintf("j%d", i), "c1", messages.StatusSuccess)
	}
	h, err := ask(t, n, natsauth.RoleFrontend, "alice", &messages.ClientGetHistory{JobID: "j1"})
	if err != nil || len(h.Jobs) != 1 || h.Jobs[0].Summary || h.Jobs[0].Result.Text != "text of j1" || len(h.Jobs[0].Archive) != 2000 {
		t.Fatalf("j1 by id: %+v, %v", h, err)
	}
	testutil.Eventually(t, wait, func() bool {
		h, err = ask(t, n, natsauth.RoleFrontend, "alice", &messages.ClientGetHistory{})
		return err == nil && len(h.Jobs) == 3
	}, "3 records listed")
	for _, r := range h.Jobs {
		if !r.Summary || r.Result.Text != "" || r.Archive != nil || r.Grade != 42 {
			t.Errorf("listed %+v, want its summary", r)
		}
	}
}

// Records stored by earlier versions are still read, by id and in
// listings, beside the new ones: of two messages per job (the whole
// record on history.job.<id>, its summary on its listing subject), and of
// one message per job (the whole record on its listing subject, its
// summary in a header).
func TestRecordsOfTheEarlierLayoutsAreRead(t *testing.T) {
	n := testutil.StartNATS(t)
	js := olderStream(t, n)
	publish := func(m *nats.Msg, rec messages.JobRecord) {
		t.Helper()
		data, err := messages.Encode(&messages.BackendHistory{Jobs: []messages.JobRecord{rec}})
		if err != nil {
			t.Fatal(err)
		}
		m.Data = data
		if _, err := js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	two := messages.JobRecord{JobID: "two-1", ClientID: "alice", CourseID: "c1", TaskID: "t", FinishedAt: 1,
		JobResult: messages.JobResult{Result: messages.Result{Status: messages.StatusFailed, Text: "two text"}, Grade: 7}}
	publish(nats.NewMsg(subj.HistoryJob("two-1")), two)
	publish(nats.NewMsg(subj.HistoryList("c1", "failed", "alice", "two-1")), two.Summarize())
	one := two
	one.JobID, one.FinishedAt, one.Result.Text = "one-1", 2, "one text"
	sum := one.Summarize()
	sumData, err := messages.Encode(&messages.BackendHistory{Jobs: []messages.JobRecord{sum}})
	if err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg(subj.HistoryList("c1", "failed", "alice", "one-1"))
	m.Header.Set("Ingo-Summary", base64.RawStdEncoding.EncodeToString(sumData))
	publish(m, one)

	startBackend(t, n, history.Options{})
	c, a := peer(t, n, "alice", false), peer(t, n, "ag1", true)
	hello(a)
	run(t, c, a, "new-1", "c1", messages.StatusSuccess)

	for id, text := range map[string]string{"two-1": "two text", "one-1": "one text", "new-1": "text of new-1"} {
		h, err := ask(t, n, natsauth.RoleFrontend, "alice", &messages.ClientGetHistory{JobID: id})
		if err != nil || len(h.Jobs) != 1 || h.Jobs[0].Summary || h.Jobs[0].Result.Text != text {
			t.Errorf("%s by id: %+v, %v", id, h, err)
		}
	}
	var ids []string
	testutil.Eventually(t, wait, func() bool {
		h, err := ask(t, n, natsauth.RoleFrontend, "alice", &messages.ClientGetHistory{})
		ids = ids[:0]
		for _, r := range h.Jobs {
			if r.Summary {
				ids = append(ids, r.JobID)
			}
		}
		return err == nil && len(ids) == 3
	}, "all three listed")
	if fmt.Sprint(ids) != "[new-1 one-1 two-1]" {
		t.Errorf("listed %v, want [new-1 one-1 two-1]", ids)
	}
}

// A frontend may name a course, task or user of any length: a record
// with long names is stored whole, its summary with the names cut, and
// the records batched with it are stored too.
func TestLongNamesDoNotFailABatch(t *testing.T) {
	n := testutil.StartNATS(t)
	st := openStore(t, n, history.Options{Log: testutil.Logger(t)})
	long := record("long", "alice", "c1", messages.StatusSuccess, "long")
	long.User, long.TaskID, long.Launcher = strings.Repeat("u", 300<<10), strings.Repeat("t", 100<<10), strings.Repeat("l", 100<<10)
	st.Add(record("before", "alice", "c1", messages.StatusSuccess, "before"))
	st.Add(long)
	st.Add(record("after", "alice", "c1", messages.StatusSuccess, "after"))
	testutil.Eventually(t, wait, func() bool { return st.Stats().Written+st.Stats().Failed == 3 }, "3 records settled")
	if s := st.Stats(); s.Failed != 0 {
		t.Fatalf("stats %+v, want none failed", s)
	}
	r, err := st.Get(context.Background(), history.Viewer{Admin: true}, "long")
	if err != nil || len(r.User) != 300<<10 || len(r.TaskID) != 100<<10 {
		t.Fatalf("long by id: %v, want its names whole", err)
	}
	page, _, err := st.List(context.Background(), history.Viewer{Admin: true}, &messages.ClientGetHistory{CourseID: "c1"})
	if err != nil || len(page) != 3 || page[1].JobID != "long" || len(page[1].User) != 1<<10 {
		t.Fatalf("listing: %d records, %v; want 3, long's user cut to 1 KiB", len(page), err)
	}
}

// The stream's last message may be one the index does not read (a
// batch's records whose summaries failed to store, a whole record of
// two messages per job): reads answer all the same, not at their
// timeout.
func TestReadsWhenTheLastMessageIsNotIndexed(t *testing.T) {
	n := testutil.StartNATS(t)
	// An older stream whose last message is a whole record of two
	// messages per job (after a message the index reads).
	js := olderStream(t, n)
	for _, subject := range []string{subj.HistoryList("c1", "failed", "alice", "old-1"), subj.HistoryJob("old-1")} {
		if _, err := js.Publish(context.Background(), subject, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	st := openStore(t, n, history.Options{})
	reads := func(what string, want int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		page, _, err := st.List(ctx, history.Viewer{Admin: true}, &messages.ClientGetHistory{})
		cancel()
		if err != nil || len(page) != want {
			t.Errorf("listing after %s: %d records, %v; want %d", what, len(page), err, want)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
		_, err = st.Get(ctx, history.Viewer{Admin: true}, "nothere")
		cancel()
		if !errors.Is(err, history.ErrNotFound) {
			t.Errorf("a job not there, after %s: %v, want ErrNotFound", what, err)
		}
	}
	reads("an older layout's whole record", 0)
	// Then a batch's records whose summaries failed.
	st.Add(record("a", "alice", "c1", messages.StatusSuccess, "a"))
	testutil.Eventually(t, wait, func() bool { return st.Stats().Written == 1 }, "a stored")
	if _, err := js.Publish(context.Background(), subj.HistoryBatch(space(t, n)+".orphan-1"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	reads("a batch's records without summaries", 1)
}

// How long a backend that starts takes to read the history's summaries
// into its index, and to answer a page and a lookup: INGO_BENCH=1 go
// test -run TestIndexStartReport -v ./backend/history (INGO_BENCH_JOBS
// records, 200,000 by default).
func TestIndexStartReport(t *testing.T) {
	if os.Getenv("INGO_BENCH") == "" {
		t.Skip("a report: INGO_BENCH=1 runs it")
	}
	jobs := 200_000
	if v, err := strconv.Atoi(os.Getenv("INGO_BENCH_JOBS")); err == nil && v > 0 {
		jobs = v
	}
	n := testutil.StartNATS(t)
	st, err := history.Open(context.Background(), superuser(t, n), history.Options{Buffer: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range jobs {
		r := record(fmt.Sprintf("%08x-1f2e-4d3c-8b7a-%012x", i/250, i), "inginious-webapp", "LSINF1252", messages.StatusSuccess,
			"All tests passed: your code computes the right answer for every input we tried.")
		r.TaskID, r.User, r.Environment, r.EnvironmentType, r.Agent = fmt.Sprintf("task-%d", i%40), fmt.Sprintf("student%05d", i%3000), "python3", "docker", "agent-3"
		st.Add(r)
	}
	st.Close()
	write := time.Since(start)
	written := st.Stats()
	if written.Written != uint64(jobs) {
		t.Fatalf("stats %+v", written)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapAlloc
	start = time.Now()
	st = openStore(t, n, history.Options{})
	page, _, err := st.List(context.Background(), history.Viewer{Admin: true}, &messages.ClientGetHistory{CourseID: "LSINF1252", Limit: 50})
	if err != nil || len(page) != 50 {
		t.Fatalf("first page: %d, %v", len(page), err)
	}
	ready := time.Since(start)
	lookup := time.Now()
	if _, err := st.Get(context.Background(), history.Viewer{Admin: true}, fmt.Sprintf("%08x-1f2e-4d3c-8b7a-%012x", 0, 7)); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("%d records written in %v (%.0f/s, %d batches); a new store's first page after %v, a lookup of the oldest %v; heap growth (the index, and the embedded server's caches) %.0f MB (%.0f bytes per record)",
		jobs, write.Round(time.Millisecond), float64(jobs)/write.Seconds(), written.Batches, ready.Round(time.Millisecond),
		time.Since(lookup).Round(time.Microsecond), float64(ms.HeapAlloc-heap0)/1e6, float64(ms.HeapAlloc-heap0)/float64(jobs))
}

// A batch whose records could not be stored is not listed: its summaries
// go only once its records are stored.
func TestRecordsNotStoredAreNotListed(t *testing.T) {
	n := testutil.StartNATS(t)
	st := openStore(t, n, history.Options{MaxArchive: 64 << 20})
	big := record("big", "alice", "c1", messages.StatusSuccess, "big")
	big.Archive = make([]byte, 10<<20) // over the server's max_payload
	st.Add(big)
	testutil.Eventually(t, wait, func() bool { return st.Stats().Failed == 1 }, "big failed")
	st.Add(record("small", "alice", "c1", messages.StatusSuccess, "small"))
	testutil.Eventually(t, wait, func() bool { return st.Stats().Written == 1 }, "small stored")
	for _, st := range []*history.Store{st, openStore(t, n, history.Options{})} {
		page, _, err := st.List(context.Background(), history.Viewer{Admin: true}, &messages.ClientGetHistory{})
		if err != nil || len(page) != 1 || page[0].JobID != "small" {
			t.Errorf("listed %d records (%v), want small only", len(page), err)
		}
	}
}

// TestOutsidersCannotHaveAnythingStored: the server sends a JetStream
// answer on whatever reply subject its requester names, and stores it
// where a stream keeps that subject. Before the history's space, any
// frontend could have acknowledgements stored on its subjects until the
// stream, bounded, dropped its oldest records before their retention.
// The subjects anybody can name (the layouts' before, a space guessed)
// are kept no more; the space's, which only a backend can read, is the
// control.
func TestOutsidersCannotHaveAnythingStored(t *testing.T) {
	n := testutil.StartNATS(t)
	st := openStore(t, n, history.Options{})
	st.Add(record("a", "alice", "c1", messages.StatusSuccess, "a"))
	testutil.Eventually(t, wait, func() bool { return st.Stats().Written == 1 }, "a stored")
	total := func() (sum uint64) {
		for _, n := range storedMessages(t, n) {
			sum += n
		}
		return sum
	}
	before := total()
	evil := testutil.NewReflector(t, n.URL, "evil")
	for _, to := range []string{subj.HistoryBatch("x"), subj.HistorySummaries("x"), subj.HistoryJob("x"),
		subj.HistoryList("c1", "success", "alice", "x"), subj.HistoryBatch(streamspace.New() + ".x")} {
		evil.APIAnswer(to)
		evil.Missing(to)
	}
	ctl := subj.HistoryBatch(space(t, n) + ".control")
	evil.APIAnswer(ctl)
	testutil.Eventually(t, wait, func() bool { return storedMessages(t, n)[ctl] == 1 }, "the control reflection was not stored")
	if got := total(); got != before+1 {
		t.Errorf("the history holds %d messages, want %d: %v", got, before+1, storedMessages(t, n))
	}
}

// TestTwoBackendsMoveAnOlderStreamAtOnce: two backends that open a
// history stream of the layout before spaces at the same moment each give
// it a space, and the later update wins; the other's first batch finds no
// stream, and it stores it, and what follows, in the stream's space: no
// record is lost.
func TestTwoBackendsMoveAnOlderStreamAtOnce(t *testing.T) {
	n := testutil.StartNATS(t)
	js := superJS(t, n)
	ctx := context.Background()
	for round := range 4 {
		if round > 0 {
			if err := js.DeleteStream(ctx, subj.HistoryStream()); err != nil {
				t.Fatal(err)
			}
		}
		olderStream(t, n)
		conns := [2]*nats.Conn{superuser(t, n), superuser(t, n)}
		var stores [2]*history.Store
		var errs [2]error
		var wg sync.WaitGroup
		for i := range stores {
			wg.Go(func() { stores[i], errs[i] = history.Open(ctx, conns[i], history.Options{}) })
		}
		wg.Wait()
		for i := range stores {
			if errs[i] != nil {
				t.Fatalf("round %d: Open %d: %v", round, i, errs[i])
			}
		}
		for k := range 3 { // apart: batches in flight together
			for i, st := range stores {
				st.Add(record(fmt.Sprintf("%d-%d", i, k), "alice", "c1", messages.StatusSuccess, "x"))
			}
			time.Sleep(15 * time.Millisecond)
		}
		for i, st := range stores {
			testutil.Eventually(t, 30*time.Second, func() bool { s := st.Stats(); return s.Written+s.Failed == 3 },
				"round %d: store %d settled its 3 records", round, i)
			if s := st.Stats(); s.Failed != 0 {
				t.Errorf("round %d: store %d: %+v, want none failed", round, i, s)
			}
		}
		for i := range stores {
			for k := range 3 {
				id := fmt.Sprintf("%d-%d", i, k)
				if _, err := stores[1-i].Get(ctx, history.Viewer{Admin: true}, id); err != nil {
					t.Errorf("round %d: %s, stored by %d, not found by the other: %v", round, id, i, err)
				}
			}
		}
		for _, st := range stores {
			st.Close()
		}
	}
}
