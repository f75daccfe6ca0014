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

// TestSnapshot_BoundedAgainstABruteForce fills queues of several
// environments with jobs of mixed priorities, courses, users and clients,
// and checks the bounded snapshot against a brute force: the fair share's
// rule (priority, then the course with the smaller share of slots for its
// weight, then the user of its course with fewer slots, then arrival)
// applied to every job at each step. The lists hold the first
// SnapshotJobs of that order, and the summary counts every job.
func TestSnapshot_BoundedAgainstABruteForce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		jobs, limit int
		viewer      string // "" for an admin
	}{
		{0, 5, ""}, {7, 50, ""}, {300, 5, ""}, {300, 40, ""},
		{300, 5, "c1"}, {300, 1000, "c2"}, {1500, 17, "c0"},
	} {
		t.Run(fmt.Sprintf("%d jobs, limit %d, viewer %q", tc.jobs, tc.limit, tc.viewer), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.SnapshotJobs = tc.limit
			cfg.CourseWeights = map[string]string{"course0": "2"}
			b, err := New(nil, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, uint64(tc.jobs)))
			for i := range tc.jobs {
				j := newJob(fmt.Sprintf("j%04d", i), fmt.Sprintf("env%d", rng.IntN(3)), rng.IntN(3))
				j.CourseID = fmt.Sprintf("course%d", rng.IntN(3))
				j.InputData["@username"] = fmt.Sprintf("u%d", rng.IntN(4))
				b.apply(&JobQueued{Job: j, ClientID: fmt.Sprintf("c%d", rng.IntN(3)), Seq: uint64(i + 1), At: time.Now()})
			}
			admin := tc.viewer == ""
			got := b.snapshot(tc.viewer, admin)

			// Brute force: the rule on every remaining job, at each step.
			weight := func(c string) float64 {
				if c == "course0" {
					return 2
				}
				return 1
			}
			running := map[string]int{}
			var rest []*job
			for _, j := range b.jobs {
				rest = append(rest, j)
			}
			better := func(x, y *job) bool {
				if x.head.Priority != y.head.Priority {
					return x.head.Priority < y.head.Priority
				}
				// A course is its client's; "course0=2" weighs every client's.
				cx, cy := x.client()+"/"+x.head.CourseID, y.client()+"/"+y.head.CourseID
				if sx, sy := float64(running[cx])/weight(x.head.CourseID), float64(running[cy])/weight(y.head.CourseID); sx != sy {
					return sx < sy
				}
				ux, uy := cx+"/"+x.head.User, cy+"/"+y.head.User
				if ux != uy && running[ux] != running[uy] {
					return running[ux] < running[uy]
				}
				return x.seq < y.seq
			}
			pos := map[string]int{}
			perTopic := map[topic]int{}
			var want, deep []*job
			waiting, step := 0, 0
			for len(rest) > 0 {
				bi := 0
				for i := range rest {
					if better(rest[i], rest[bi]) {
						bi = i
					}
				}
				j := rest[bi]
				rest = append(rest[:bi], rest[bi+1:]...)
				running[j.client()+"/"+j.head.CourseID]++
				running[j.client()+"/"+j.head.CourseID+"/"+j.head.User]++
				perTopic[j.topic()]++
				pos[j.id()] = perTopic[j.topic()]
				step++
				if admin || j.client() == tc.viewer {
					waiting++
					if step <= tc.limit {
						want = append(want, j)
					} else {
						// Beyond the simulated first limit: a frontend's
						// jobs follow by arrival, unplaced.
						pos[j.id()] = 0
						deep = append(deep, j)
					}
				}
			}
			slices.SortFunc(deep, func(x, y *job) int { return int(x.seq) - int(y.seq) })
			if !admin {
				want = append(want, deep...)
			}
			if got.Summary.Waiting != waiting || got.Summary.Running != 0 {
				t.Errorf("summary %+v, want %d waiting", got.Summary, waiting)
			}
			if len(want) > tc.limit {
				want = want[:tc.limit]
			}
			var wantIDs []string
			for _, j := range want {
				wantIDs = append(wantIDs, j.id())
			}
			var ids []string
			for _, w := range got.JobsWaiting {
				ids = append(ids, w.JobID)
				if w.Position != pos[w.JobID] {
					t.Errorf("%s at position %d, want %d", w.JobID, w.Position, pos[w.JobID])
				}
			}
			if !slices.Equal(ids, wantIDs) {
				t.Errorf("waiting %v\nwant %v", ids, wantIDs)
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

// frozenBackend is a backend with no journal nor connection, whose clock
// stands at now: for what snapshots say, built by applying transitions.
func frozenBackend(t *testing.T) (*Backend, time.Time) {
	t.Helper()
	b, err := New(nil, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(1_800_000_000_000)
	b.now = func() time.Time { return now }
	return b, now
}

// A snapshot during a flood says that the flooding course's jobs wait for
// the fair share once another course's job passes them, and when each job
// should start: its slots turn over once per recent run time.
func TestSnapshot_FairShareReasonAndEstimate(t *testing.T) {
	t.Parallel()
	b, now := frozenBackend(t)
	def := topic{"docker", "default"}
	b.agents["a"] = &agent{id: "a", slots: 2, topics: []topic{def}, running: map[string]*job{}}
	b.runTimes[def] = 10 * time.Second
	for i := range 4 {
		j := newJob(fmt.Sprintf("a%d", i), "default", 0)
		j.CourseID = "A"
		b.apply(&JobQueued{Job: j, ClientID: "c", Seq: uint64(i + 1), At: now})
	}
	// A holds both slots with a0 and a1, then B's job arrives.
	for _, id := range []string{"a0", "a1"} {
		b.apply(&JobAssigned{JobID: id, AgentID: "a", Attempt: 1, At: now})
	}
	j := newJob("b0", "default", 0)
	j.CourseID = "B"
	b.apply(&JobQueued{Job: j, ClientID: "c", Seq: 10, At: now})

	q := b.snapshot("", true)
	want := []struct {
		id     string
		reason messages.WaitReason
		start  time.Duration
	}{
		{"b0", messages.WaitSlotsBusy, 5 * time.Second},
		{"a2", messages.WaitFairShare, 5 * time.Second},
		{"a3", messages.WaitFairShare, 15 * time.Second},
	}
	if len(q.JobsWaiting) != len(want) {
		t.Fatalf("waiting %+v", q.JobsWaiting)
	}
	for i, w := range want {
		g := q.JobsWaiting[i]
		if g.JobID != w.id || g.Reason != w.reason || g.EstimatedStart != now.Add(w.start).UnixMilli() {
			t.Errorf("#%d: %s %s starts in %v, want %s %s in %v", i+1, g.JobID, g.Reason,
				time.UnixMilli(g.EstimatedStart).Sub(now), w.id, w.reason, w.start)
		}
	}
}

// When one agent's slots serve two environments with waiting jobs, a
// job's estimated start counts the other environment's jobs too: the
// slots do not turn over once per run time for each queue. Before, a
// deadline rehearsal (one agent, 2 slots, 160 jobs waiting for
// docker/default and 47 for docker/toolchain) was told its last jobs
// would start in half the time they took: each queue's estimate counted
// every slot as its own. An agent serving one environment only gives it
// all its slots.
func TestSnapshot_EstimateSharesAnAgentsSlotsBetweenEnvironments(t *testing.T) {
	t.Parallel()
	b, now := frozenBackend(t)
	def, tool, java := topic{"docker", "default"}, topic{"docker", "toolchain"}, topic{"docker", "java"}
	b.agents["a"] = &agent{id: "a", slots: 2, topics: []topic{def, tool}, running: map[string]*job{}}
	b.agents["j"] = &agent{id: "j", slots: 2, topics: []topic{java}, running: map[string]*job{}}
	for _, tp := range []topic{def, tool, java} {
		b.runTimes[tp] = 10 * time.Second
	}
	seq := uint64(0)
	for _, env := range []string{"default", "toolchain", "java"} {
		for i := range 4 {
			seq++
			b.apply(&JobQueued{Job: newJob(fmt.Sprintf("%s%d", env, i), env, 0), ClientID: "c", Seq: seq, At: now})
		}
	}
	q := b.snapshot("", true)
	got := map[string]time.Duration{}
	for _, w := range q.JobsWaiting {
		got[w.JobID] = time.UnixMilli(w.EstimatedStart).Sub(now)
	}
	// 8 jobs of 10 s on agent a's 2 slots, its queues drained together:
	// each queue gets one slot's worth. Agent j's java queue has its 2.
	want := map[string]time.Duration{
		"default0": 5 * time.Second, "default1": 15 * time.Second, "default3": 35 * time.Second,
		"toolchain0": 5 * time.Second, "toolchain3": 35 * time.Second,
		"java0": 5 * time.Second, "java1": 5 * time.Second, "java2": 15 * time.Second, "java3": 15 * time.Second,
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s starts in %v, want %v", id, got[id], w)
		}
	}
}
