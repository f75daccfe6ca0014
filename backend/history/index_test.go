package history

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// batchOf is the index entries of a batch message seq holding jobs.
func batchOf(t testing.TB, seq uint64, stored int64, jobs ...string) []entry {
	t.Helper()
	var es []entry
	for i, id := range jobs {
		r := messages.JobRecord{JobID: id, ClientID: "alice", CourseID: "c" + id[:1], FinishedAt: stored,
			JobResult: messages.JobResult{Result: messages.Result{Status: messages.StatusSuccess}}}
		data, err := encodeRecord(&r)
		if err != nil {
			t.Fatal(err)
		}
		e, err := entryOf(data)
		if err != nil {
			t.Fatal(err)
		}
		e.key, e.stored = seq<<keyPosBits|uint64(i+1), stored
		es = append(es, e)
	}
	return es
}

func ids(_ *testing.T, es []entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.jobID)
	}
	return out
}

// Pages walk the index newest first, across batches, each job once (its
// newest record), within the times asked, and trimming drops what the
// stream no longer holds. The same again with every job id hashing
// alike: the index then tells jobs apart by their ids alone.
func TestIndexPages(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprintf("ids hashing alike %v", collide), func(t *testing.T) { testIndexPages(t, collide) })
	}
}

func testIndexPages(t *testing.T, collide bool) {
	ix := newIndex()
	ix.collide = collide
	ix.add(1, batchOf(t, 1, 100, "a1", "a2", "b1"))
	ix.add(2, nil) // a message that holds no record
	ix.add(3, batchOf(t, 3, 200, "a3", "a1"))
	ix.add(3, batchOf(t, 3, 200, "x1")) // read twice: once
	ix.add(4, batchOf(t, 4, 300, "b2"))
	all := &messages.ClientGetHistory{}
	for _, tc := range []struct {
		name  string
		q     messages.ClientGetHistory
		limit int
		want  []string
	}{
		{"all", messages.ClientGetHistory{}, 10, []string{"b2", "a1", "a3", "b1", "a2"}},
		{"course", messages.ClientGetHistory{CourseID: "ca"}, 10, []string{"a1", "a3", "a2"}},
		{"since", messages.ClientGetHistory{Since: 200}, 10, []string{"b2", "a1", "a3"}},
		{"until", messages.ClientGetHistory{Until: 300}, 10, []string{"a1", "a3", "b1", "a2"}},
		{"between", messages.ClientGetHistory{Since: 150, Until: 250}, 10, []string{"a1", "a3"}},
		{"pages of 2", messages.ClientGetHistory{}, 2, []string{"b2", "a1", "a3", "b1", "a2"}},
		{"pages of 1", messages.ClientGetHistory{CourseID: "cb"}, 1, []string{"b2", "b1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			var got []string
			for range 10 {
				sums, next := ix.page(Viewer{ClientID: "alice"}, &q, tc.limit)
				if len(sums) > tc.limit {
					t.Fatalf("a page of %d, limit %d", len(sums), tc.limit)
				}
				got = append(got, ids(t, sums)...)
				if next == 0 {
					break
				}
				q.Cursor = next
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
		})
	}
	if sums, _ := ix.page(Viewer{ClientID: "mallory"}, all, 10); len(sums) != 0 {
		t.Errorf("another client listed %v", ids(t, sums))
	}
	if e, ok := ix.lookup("a1"); !ok || e.seq() != 3 || e.pos() != 1 {
		t.Errorf("a1 at %d/%d, want its newest, 3/1", e.seq(), e.pos())
	}
	ix.trim(3)
	if _, ok := ix.lookup("a2"); ok {
		t.Error("a2 found after its batch left the stream")
	}
	if e, ok := ix.lookup("a1"); !ok || e.seq() != 3 {
		t.Error("a1 lost with its older record")
	}
	if sums, _ := ix.page(Viewer{Admin: true}, all, 10); !slices.Equal(ids(t, sums), []string{"b2", "a1", "a3"}) {
		t.Errorf("after the trim: %v", ids(t, sums))
	}
	for _, id := range []string{"a3", "b2"} {
		if e, ok := ix.lookup(id); !ok || e.jobID != id || e.clientID != "alice" || e.courseID != "c"+id[:1] ||
			e.status != messages.StatusSuccess || e.batch != "" {
			t.Errorf("%s after the trim: %+v, %v", id, e, ok)
		}
	}
	for _, q := range []messages.ClientGetHistory{{CourseID: "nope"}, {Status: messages.StatusCrash}} {
		if sums, _ := ix.page(Viewer{Admin: true}, &q, 10); len(sums) != 0 {
			t.Errorf("%+v listed %v", q, ids(t, sums))
		}
	}
}

// The index's memory per record, with summaries as the backend writes
// them: go test -run TestIndexMemoryReport -v with INGO_BENCH=1.
func TestIndexMemoryReport(t *testing.T) {
	if os.Getenv("INGO_BENCH") == "" {
		t.Skip("a report: INGO_BENCH=1 runs it")
	}
	const n = 200_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ix := newIndex()
	for b := range n / 250 {
		var es []entry
		var frames []byte
		for i := range 250 {
			r := messages.JobRecord{JobID: fmt.Sprintf("%08x-1f2e-4d3c-8b7a-%012x", b, i), ClientID: "inginious-webapp",
				CourseID: "LSINF1252", TaskID: fmt.Sprintf("task-%d", i%40), User: fmt.Sprintf("student%05d", (b*250+i)%3000),
				Launcher: "webapp", EnvironmentType: "docker", Environment: "python3", Agent: "agent-3", Attempts: 1,
				SubmittedAt: 1764900000000, StartedAt: 1764900000100, FinishedAt: 1764900001500,
				JobResult: messages.JobResult{Result: messages.Result{Status: messages.StatusSuccess}, Grade: 87.5}}
			sum := r.Summarize()
			data, err := encodeRecord(&sum)
			if err != nil {
				t.Fatal(err)
			}
			frames = appendFrame(frames, data)
		}
		sums, err := frames2(frames)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range sums {
			e, err := entryOf(s)
			if err != nil {
				t.Fatal(err)
			}
			e.key = uint64(b+1)<<keyPosBits | uint64(i+1)
			es = append(es, e)
		}
		ix.add(uint64(b+1), es)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("index: %.0f bytes per record (%d records), %.0f MB per million", per, n, per)
	runtime.KeepAlive(ix)
}

// frames2 is frames on a copy, as the feed's base64 decoding makes one.
func frames2(data []byte) ([][]byte, error) { return frames(slices.Clone(data), maxBatchRecords) }

// Across chunks: what the trim leaves is found and listed in order, what
// it drops is not, and its chunks are freed.
func TestIndexChunks(t *testing.T) {
	ix := newIndex()
	const per, batches = 100, 200 // 20,000 entries, about 5 chunks
	for b := range batches {
		var jobs []string
		for i := range per {
			jobs = append(jobs, fmt.Sprintf("a%d", b*per+i))
		}
		ix.add(uint64(b+1), batchOf(t, uint64(b+1), int64(b), jobs...))
	}
	ix.trim(101) // the first 100 batches: 10,000 entries
	if len(ix.chunks) != 3 || ix.base != 2 {
		t.Errorf("%d chunks kept after %d freed, want 3 after 2", len(ix.chunks), ix.base)
	}
	for _, tc := range []struct {
		id    string
		found bool
	}{{"a0", false}, {"a9999", false}, {"a10000", true}, {"a19999", true}} {
		if _, ok := ix.lookup(tc.id); ok != tc.found {
			t.Errorf("%s found: %v, want %v", tc.id, ok, tc.found)
		}
	}
	var got []string
	q := &messages.ClientGetHistory{}
	for {
		sums, next := ix.page(Viewer{Admin: true}, q, 999)
		got = append(got, ids(t, sums)...)
		if next == 0 {
			break
		}
		q.Cursor = next
	}
	if len(got) != 10000 || got[0] != "a19999" || got[9999] != "a10000" {
		t.Errorf("listed %d, from %s to %s; want 10,000 from a19999 to a10000", len(got), got[0], got[len(got)-1])
	}
	ix.trim(1000)
	if ix.next != ix.first || len(ix.byJob) != 0 {
		t.Errorf("after every batch left: %d entries, %d jobs", ix.next-ix.first, len(ix.byJob))
	}
	ix.add(1000, batchOf(t, 1000, 1000, "b1"))
	if e, ok := ix.lookup("b1"); !ok || e.jobID != "b1" {
		t.Error("b1 not found after the index emptied")
	}
}
