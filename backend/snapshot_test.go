package backend

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// TestSnapshot_BoundedAgainstAFullSort fills queues of several
// environments with jobs of mixed priorities and clients, and checks the
// bounded snapshot against a brute force: every job sorted in dispatch
// order, positions counted per environment. The lists hold the first
// SnapshotJobs of that order, and the summary counts every job.
func TestSnapshot_BoundedAgainstAFullSort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		jobs, limit int
		viewer      string // "" for an admin
	}{
		{0, 5, ""}, {7, 50, ""}, {300, 5, ""}, {300, 40, ""},
		{300, 5, "c1"}, {300, 1000, "c2"}, {2000, 17, "c0"},
	} {
		t.Run(fmt.Sprintf("%d jobs, limit %d, viewer %q", tc.jobs, tc.limit, tc.viewer), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.SnapshotJobs = tc.limit
			b, err := New(nil, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, uint64(tc.jobs)))
			for i := range tc.jobs {
				j := newJob(fmt.Sprintf("j%04d", i), fmt.Sprintf("env%d", rng.IntN(3)), rng.IntN(4))
				j.CourseID = fmt.Sprintf("course%d", rng.IntN(2))
				b.apply(&JobQueued{Job: j, ClientID: fmt.Sprintf("c%d", rng.IntN(3)), Seq: uint64(i + 1), At: time.Now()})
			}
			admin := tc.viewer == ""
			got := b.snapshot(tc.viewer, admin)

			// Brute force.
			var all []*job
			for _, j := range b.jobs {
				all = append(all, j)
			}
			slices.SortFunc(all, func(x, y *job) int {
				if x.before(y) {
					return -1
				}
				return 1
			})
			pos := map[string]int{}
			perTopic := map[topic]int{}
			var want []string
			waiting := 0
			for _, j := range all {
				perTopic[j.topic()]++
				pos[j.id()] = perTopic[j.topic()]
				if admin || j.clientID == tc.viewer {
					waiting++
					want = append(want, j.id())
				}
			}
			if got.Summary.Waiting != waiting || got.Summary.Running != 0 {
				t.Errorf("summary %+v, want %d waiting", got.Summary, waiting)
			}
			if len(want) > tc.limit {
				want = want[:tc.limit]
			}
			var ids []string
			for _, w := range got.JobsWaiting {
				ids = append(ids, w.JobID)
				if w.Position != pos[w.JobID] {
					t.Errorf("%s at position %d, want %d", w.JobID, w.Position, pos[w.JobID])
				}
			}
			if !slices.Equal(ids, want) {
				t.Errorf("waiting %v\nwant %v", ids, want)
			}
			if got.Summary.Truncated != (waiting > tc.limit) {
				t.Errorf("truncated %v with %d waiting and a bound of %d", got.Summary.Truncated, waiting, tc.limit)
			}
			n := 0
			for _, c := range got.Summary.Counts {
				n += c.Waiting
			}
			if n != waiting {
				t.Errorf("counts add up to %d, want %d: %+v", n, waiting, got.Summary.Counts)
			}
			if _, err := messages.Encode(got); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// BenchmarkSnapshot is an admin's and a frontend's snapshot of a deadline
// queue: INGO_SNAPSHOT_JOBS waiting jobs (100,000 by default) over three
// environments, two courses and three clients.
func BenchmarkSnapshot(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("INGO_SNAPSHOT_JOBS")); err == nil && v > 0 {
		n = v
	}
	be, err := New(nil, DefaultConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		j := newJob(fmt.Sprintf("j%07d", i), fmt.Sprintf("env%d", rng.IntN(3)), rng.IntN(4))
		j.CourseID = fmt.Sprintf("course%d", rng.IntN(2))
		be.apply(&JobQueued{Job: j, ClientID: fmt.Sprintf("c%d", rng.IntN(3)), Seq: uint64(i + 1), At: time.Now()})
	}
	for _, v := range []struct {
		name   string
		client string
		admin  bool
	}{{"admin", "", true}, {"frontend", "c1", false}} {
		b.Run(fmt.Sprintf("%s/%d", v.name, n), func(b *testing.B) {
			for b.Loop() {
				q := be.snapshot(v.client, v.admin)
				data, err := messages.Encode(q)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(data)), "bytes/snapshot")
			}
		})
	}
}
