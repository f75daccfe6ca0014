package backend

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// busyQueue builds a backend with waiting jobs over several environments,
// priorities, courses, users and clients, some of them running on an
// agent for a while (so virtual times and slots differ), some finished
// and some re-queued: what snapshots and pages must follow.
func busyQueue(t testing.TB, jobs int, seed uint64) *Backend {
	cfg := DefaultConfig()
	cfg.CourseWeights = map[string]string{"course0": "2"}
	b, err := New(nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(1_800_000_000_000)
	b.now = func() time.Time { return now }
	b.share.now = b.now
	b.agents["a"] = &agent{id: "a", slots: 1000, running: map[string]*job{}}
	rng := rand.New(rand.NewPCG(seed, uint64(jobs)))
	var ids []string
	dispatch := uint64(0)
	for i := range jobs {
		j := newJob(fmt.Sprintf("j%05d", i), fmt.Sprintf("env%d", rng.IntN(3)), rng.IntN(3))
		j.CourseID = fmt.Sprintf("course%d", rng.IntN(3))
		j.InputData["@username"] = fmt.Sprintf("u%d", rng.IntN(12))
		client := fmt.Sprintf("c%d", rng.IntN(3))
		if client == "c0" { // an admin client with frontends (the HTTP API), and jobs of its own
			j.Frontend = []string{"", "fa", "fb"}[i%3]
		}
		b.apply(&JobQueued{Job: j, ClientID: client, Seq: uint64(i + 1), At: now})
		ids = append(ids, j.JobID)
		now = now.Add(time.Duration(rng.IntN(500)) * time.Millisecond)
		if rng.IntN(4) == 0 { // something happens to an earlier job
			id := ids[rng.IntN(len(ids))]
			j := b.jobs[id]
			switch {
			case j == nil:
			case j.phase == phaseWaiting && rng.IntN(3) > 0:
				dispatch++
				b.apply(&JobAssigned{JobID: id, AgentID: "a", Attempt: j.attempt + 1, DispatchSeq: dispatch, At: now})
			case j.phase == phaseWaiting:
				b.apply(&JobFinished{Result: &messages.BackendJobDone{JobID: id}, At: now})
			case rng.IntN(2) == 0:
				b.apply(&JobRequeued{JobID: id})
			default:
				b.apply(&JobFinished{Result: &messages.BackendJobDone{JobID: id}, At: now})
			}
		}
	}
	return b
}

// TestDispatchSim_AgreesWithABruteForce plays the lazy simulation against
// the fair share's rule applied to every waiting job at each step, on a
// copy of its counts: fairShare.better between each job (as a one-job
// leaf) and the best so far.
func TestDispatchSim_AgreesWithABruteForce(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			b := busyQueue(t, 400, seed)
			topics := b.queues.sortedTopics()
			for _, only := range [][]topic{topics, topics[:1]} {
				got := b.dispatchOrder(1000, only)

				f := b.share.clone()
				now := b.now()
				f.now = func() time.Time { return now }
				var rest []*job
				for _, j := range b.jobs {
					if j.phase == phaseWaiting && slices.Contains(only, j.topic()) {
						rest = append(rest, j)
					}
				}
				view := func(j *job) *leaf { return &leaf{key: j.leafKey(), jobs: indexed[*job]{items: []*job{j}}} }
				var want []string
				for len(rest) > 0 {
					bi := 0
					for i := range rest {
						if f.better(view(rest[i]), view(rest[bi]), now) {
							bi = i
						}
					}
					want = append(want, rest[bi].id())
					f.add(rest[bi], 1, time.Time{})
					rest = slices.Delete(rest, bi, bi+1)
				}
				var ids []string
				for _, r := range got {
					ids = append(ids, r.job.id())
				}
				if len(want) < 50 {
					t.Fatalf("only %d waiting jobs to order", len(want))
				}
				if !slices.Equal(ids, want) {
					t.Errorf("%d topics: simulated %v\nbrute force %v", len(only), ids, want)
				}
			}
		})
	}
}

// TestQueueIndex_CountsAgreeWithTheJobs checks the kept counts, running
// set and arrival order against a walk over every job.
func TestQueueIndex_CountsAgreeWithTheJobs(t *testing.T) {
	t.Parallel()
	b := busyQueue(t, 3000, 9)
	for _, v := range []view{{admin: true}, {client: "c1"}, {admin: true, envType: "docker", env: "env1"}, {client: "c2", course: "course0"}} {
		want := map[[5]string][2]int{}
		waiting, running := 0, 0
		for _, j := range b.jobs {
			if !v.keepsJob(j) {
				continue
			}
			client, frontend, _ := strings.Cut(j.owner, ":")
			k := [5]string{j.head.EnvironmentType, j.head.Environment, client, frontend, j.head.CourseID}
			c := want[k]
			if j.phase == phaseWaiting {
				c[1]++
				waiting++
			} else {
				c[0]++
				running++
			}
			want[k] = c
		}
		sum := b.queues.index.summary(v)
		if sum.Waiting != waiting || sum.Running != running || len(sum.Counts) != len(want) {
			t.Errorf("%+v: summary %d running, %d waiting in %d counts; want %d, %d in %d", v, sum.Running, sum.Waiting, len(sum.Counts), running, waiting, len(want))
		}
		for _, c := range sum.Counts {
			if w := want[[5]string{c.EnvironmentType, c.Environment, c.ClientID, c.Frontend, c.CourseID}]; w != [2]int{c.Running, c.Waiting} {
				t.Errorf("%+v: count %+v, want running/waiting %v", v, c, w)
			}
		}
		if n := len(b.queues.index.runningJobs(v)); n != running {
			t.Errorf("%+v: %d running jobs listed, want %d", v, n, running)
		}
	}
}

func TestSeqList(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	var s seqList
	in := map[uint64]*job{}
	for i := range 20_000 {
		if len(in) > 0 && rng.IntN(3) == 0 {
			for seq, j := range in { // any one
				if !s.delete(j) {
					t.Fatalf("%d not deleted", seq)
				}
				delete(in, seq)
				break
			}
			continue
		}
		seq := uint64(i + 1)
		if rng.IntN(5) == 0 { // a re-queued job goes back to its place
			seq = uint64(rng.IntN(i+1)) + 1
		}
		if in[seq] != nil {
			continue
		}
		j := &job{seq: seq}
		in[seq] = j
		s.insert(j)
	}
	if s.Len() != len(in) || s.delete(&job{seq: 3}) {
		t.Fatalf("%d jobs, want %d", s.Len(), len(in))
	}
	var want []uint64
	for seq := range in {
		want = append(want, seq)
	}
	slices.Sort(want)
	for _, from := range []int{0, 1, len(want) / 2, len(want) - 1} {
		var got []uint64
		for it := s.after(want[from], false); it.peek() != nil; it.next() {
			got = append(got, it.peek().seq)
		}
		if !slices.Equal(got, want[from+1:]) {
			t.Fatalf("after %d: %d jobs, want %d", want[from], len(got), len(want[from+1:]))
		}
	}
}
