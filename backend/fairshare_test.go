package backend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// sim runs the backend's choice of jobs (queues.best with the fair share)
// on slots in virtual time: a job holds a slot for its run time, then
// finishes; nothing but the scheduler's state is involved.
type sim struct {
	t       *testing.T
	b       *Backend
	slots   int
	now     time.Duration
	running []simRun
	runTime map[string]time.Duration // by job id
	started map[string]time.Duration
	slotT   map[string]time.Duration // slot-time per course, until stopAt
	slotTOf map[string]time.Duration // slot-time per "client/course" ("client:frontend/course"), until stopAt
	stopAt  time.Duration
	n       int
	log     []Transition // every transition applied, as a journal holds them
}

// apply applies t and keeps it in the sim's journal.
func (s *sim) apply(t Transition) {
	s.log = append(s.log, t)
	s.b.apply(t)
}

type simRun struct {
	j   *job
	end time.Duration
}

func newSim(t *testing.T, slots int, weights map[string]string) *sim {
	cfg := DefaultConfig()
	cfg.CourseWeights = weights
	b, err := New(nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &sim{t: t, b: b, slots: slots, runTime: map[string]time.Duration{}, started: map[string]time.Duration{},
		slotT: map[string]time.Duration{}, slotTOf: map[string]time.Duration{}, stopAt: time.Duration(math.MaxInt64)}
	start := time.Unix(1_800_000_000, 0)
	b.now = func() time.Time { return start.Add(s.now) } // virtual time
	return s
}

// submit queues n jobs of a course and user, each running d.
func (s *sim) submit(course, user string, n int, d time.Duration) []string {
	return s.submitAs("c", course, user, n, d)
}

// submitAs queues n jobs of a client's course and user, each running d;
// client "api:uni-a" is frontend uni-a of admin client api.
func (s *sim) submitAs(client, course, user string, n int, d time.Duration) []string {
	var ids []string
	client, frontend, _ := strings.Cut(client, ":")
	for range n {
		s.n++
		j := newJob(fmt.Sprintf("%s-%s-%s-%s-%d", client, frontend, course, user, s.n), "default", 0)
		j.CourseID, j.Frontend = course, frontend
		j.InputData["@username"] = user
		s.apply(&JobQueued{Job: j, ClientID: client, Seq: uint64(s.n), At: s.b.now()})
		s.runTime[j.JobID] = d
		ids = append(ids, j.JobID)
	}
	return ids
}

// fill starts jobs on free slots.
func (s *sim) fill() {
	topics := []topic{{"docker", "default"}}
	for len(s.running) < s.slots {
		l := s.b.queues.best(topics, &s.b.share)
		if l == nil {
			return
		}
		j := l.head()
		s.apply(&JobAssigned{JobID: j.id(), AgentID: "a", Attempt: 1, At: s.b.now()})
		s.started[j.id()] = s.now
		s.running = append(s.running, simRun{j, s.now + s.runTime[j.id()]})
	}
}

// step finishes the job that ends first, counting slot-time.
func (s *sim) step() bool {
	s.fill()
	if len(s.running) == 0 {
		return false
	}
	first := 0
	for i, r := range s.running {
		if r.end < s.running[first].end {
			first = i
		}
	}
	next := s.running[first].end
	for _, r := range s.running {
		from, to := s.now, min(next, s.stopAt)
		if to > from {
			s.slotT[r.j.head.CourseID] += to - from
			s.slotTOf[r.j.owner+"/"+r.j.head.CourseID] += to - from
		}
	}
	s.now = next
	r := s.running[first]
	s.running = append(s.running[:first], s.running[first+1:]...)
	s.apply(&JobFinished{Result: &messages.BackendJobDone{JobID: r.j.id()}, At: s.b.now()})
	return true
}

// Two courses weighted 2:1, both flooding with jobs of different lengths:
// while both wait, their slot-time is 2:1 within 5%.
func TestFairShare_SlotTimeFollowsWeights(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		slots      int
		runA, runB time.Duration
	}{
		{"equal jobs, 4 slots", 4, 100 * time.Millisecond, 100 * time.Millisecond},
		{"A's jobs half as long, 4 slots", 4, 50 * time.Millisecond, 100 * time.Millisecond},
		{"A's jobs three times as long, 9 slots", 9, 300 * time.Millisecond, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, tc.slots, map[string]string{"A": "2"})
			s.submit("A", "a1", 3000, tc.runA)
			s.submit("B", "b1", 3000, tc.runB)
			// Measure while both still wait: up to a time neither runs out.
			s.stopAt = 30 * time.Second
			for s.now < s.stopAt && s.step() {
			}
			if s.b.queues.waitingBy[courseKey("c", "A")] == 0 || s.b.queues.waitingBy[courseKey("c", "B")] == 0 {
				t.Fatalf("a course ran out of jobs before %v: pick more jobs", s.stopAt)
			}
			ratio := float64(s.slotT["A"]) / float64(s.slotT["B"])
			t.Logf("slot-time A:B = %v:%v = %.4f", s.slotT["A"], s.slotT["B"], ratio)
			if math.Abs(ratio-2)/2 > 0.05 {
				t.Errorf("slot-time A:B = %v:%v = %.3f, want 2 within 5%%", s.slotT["A"], s.slotT["B"], ratio)
			}
		})
	}
}

// A course (or one user) flooding the queue delays another course's (or
// another user's) single job by at most about one run time per slot: it
// takes the next slot that frees.
func TestFairShare_AFloodDelaysAnotherJobByOneRun(t *testing.T) {
	t.Parallel()
	const run = 50 * time.Millisecond
	for _, tc := range []struct {
		name                     string
		slots                    int
		floodCourse, floodUser   string
		singleCourse, singleUser string
	}{
		{"another course, 1 slot", 1, "A", "a1", "B", "b1"},
		{"another course, 4 slots", 4, "A", "a1", "B", "b1"},
		{"another user of the course, 1 slot", 1, "A", "a1", "A", "a2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, tc.slots, nil)
			s.submit(tc.floodCourse, tc.floodUser, 300, run)
			s.fill()
			// The single job arrives while the flood holds every slot.
			s.step()
			arrived := s.now
			id := s.submit(tc.singleCourse, tc.singleUser, 1, run)[0]
			for {
				if _, ok := s.started[id]; ok || !s.step() {
					break
				}
			}
			start, ok := s.started[id]
			if !ok {
				t.Fatal("the single job never started")
			}
			t.Logf("the single job waited %v (run time %v, %d slots)", start-arrived, run, tc.slots)
			if wait := start - arrived; wait > 2*run {
				t.Errorf("the single job waited %v behind a flood of 300, want at most %v", wait, 2*run)
			}
		})
	}
}

// Priority still comes first: a better priority of a course with a bigger
// share runs before a worse one of a course with none.
func TestFairShare_PriorityFirst(t *testing.T) {
	t.Parallel()
	s := newSim(t, 1, nil)
	s.submit("A", "a1", 5, time.Second)
	s.fill() // A holds the slot
	j := newJob("low", "default", 5)
	j.CourseID = "B"
	s.b.apply(&JobQueued{Job: j, ClientID: "c", Seq: 100, At: s.b.now()})
	l := s.b.queues.best([]topic{{"docker", "default"}}, &s.b.share)
	if l == nil || l.head().head.CourseID != "A" {
		t.Fatalf("best %v, want A's job of priority 0 before B's of priority 5", l.head().id())
	}
}

// The caps on waiting jobs refuse, naming the cap, what would go over
// them, and take jobs again once some left the queue.
func TestCaps_WaitingJobsPerCourseAndUser(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.EnvironmentGrace = time.Hour // no agent: everything waits
		c.MaxWaitingPerCourse, c.MaxWaitingPerUser = 3, 2
	})
	c := r.client("c1")
	job := func(id, course, user string) *messages.ClientNewJob {
		j := newJob(id, "default", 0)
		j.CourseID = course
		j.InputData["@username"] = user
		return j
	}
	c.submit(job("a1", "algo", "ann"))
	c.submit(job("a2", "algo", "ann"))
	c.send(job("a3", "algo", "ann"))
	if e := next[*messages.Error](c); e.Code != messages.CodeQueueFull || e.JobID != "a3" ||
		!strings.Contains(e.Text, "max-waiting-per-user") || !strings.Contains(e.Text, `"ann"`) {
		t.Fatalf("third job of one user: %+v", e)
	}
	c.submit(job("b1", "algo", "bob"))
	c.send(job("b2", "algo", "bob"))
	if e := next[*messages.Error](c); e.Code != messages.CodeQueueFull || !strings.Contains(e.Text, "max-waiting-per-course") || !strings.Contains(e.Text, `"algo"`) {
		t.Fatalf("fourth job of one course: %+v", e)
	}
	c.submit(job("j1", "java", "bob")) // another course has its own cap
	c.send(&messages.ClientKillJob{JobID: "a1"})
	next[*messages.BackendJobDone](c)
	c.submit(job("b2", "algo", "bob")) // a place came free
}

// The indexed choice (idle leaves in a heap per course, busy ones apart)
// agrees with comparing every leaf, through random arrivals, starts, ends
// and kills of jobs of many users, courses and priorities.
func TestFairShare_IndexAgreesWithAScan(t *testing.T) {
	t.Parallel()
	s := newSim(t, 1<<30, map[string]string{"c0": "3", "c1": "0.5"})
	rng := rand.New(rand.NewPCG(7, 11))
	topics := []topic{{"docker", "e0"}, {"docker", "e1"}}
	var running []*job
	for step := range 4000 {
		s.now += time.Duration(rng.IntN(50)) * time.Millisecond
		switch op := rng.IntN(10); {
		case op < 4: // a job arrives
			s.n++
			j := newJob(fmt.Sprintf("j%d", s.n), fmt.Sprintf("e%d", rng.IntN(2)), rng.IntN(2))
			j.CourseID = fmt.Sprintf("c%d", rng.IntN(3))
			j.InputData["@username"] = fmt.Sprintf("u%d", rng.IntN(40))
			s.b.apply(&JobQueued{Job: j, ClientID: "c", Seq: uint64(s.n), At: s.b.now()})
		case op < 7: // the choice starts a job
			got := s.b.queues.best(topics, &s.b.share)
			var all []*leaf
			for _, t := range topics {
				if q := s.b.queues.byTopic[t]; q != nil {
					for _, l := range q.leaves {
						all = append(all, l)
					}
				}
			}
			if len(all) == 0 {
				if got != nil {
					t.Fatalf("step %d: best %v with no leaf", step, got.key)
				}
				continue
			}
			want := all[bestByScan(all, &s.b.share, s.b.now())]
			if got != want {
				t.Fatalf("step %d: indexed choice %v (head %d), scan %v (head %d)", step, got.key, got.head().seq, want.key, want.head().seq)
			}
			j := got.head()
			s.apply(&JobAssigned{JobID: j.id(), AgentID: "a", Attempt: 1, At: s.b.now()})
			running = append(running, j)
		case op < 9 && len(running) > 0: // a job ends
			i := rng.IntN(len(running))
			j := running[i]
			running = append(running[:i], running[i+1:]...)
			s.b.apply(&JobFinished{Result: &messages.BackendJobDone{JobID: j.id()}, At: s.b.now()})
		default: // a waiting job is killed
			for _, q := range s.b.queues.byTopic {
				for _, l := range q.leaves {
					s.b.apply(&JobFinished{Result: &messages.BackendJobDone{JobID: l.jobs.items[l.jobs.Len()-1].id()}, At: s.b.now()})
					break
				}
				break
			}
		}
	}
}

// bestByScan is best by comparing every leaf: what queues.best must agree
// with.
func bestByScan(leaves []*leaf, f *fairShare, now time.Time) int {
	bi := -1
	for i, l := range leaves {
		if bi < 0 || f.better(l, leaves[bi], now) {
			bi = i
		}
	}
	return bi
}

// Slots that free together (jobs started together ending together, an
// agent registering) are shared by weight, not all given to the course
// that was behind: after each slot given, the course is charged its jobs'
// recent hold, so the next one goes to the other. Without the advance the
// courses took whole rounds of slots in turn.
func TestFairShare_SlotsFreedTogetherAreShared(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		slots      int
		weights    map[string]string
		runA, runB time.Duration
	}{
		{"4 slots, A=2, equal jobs", 4, map[string]string{"A": "2"}, 50 * time.Millisecond, 50 * time.Millisecond},
		{"4 slots, A=2, B's jobs twice as long", 4, map[string]string{"A": "2"}, 50 * time.Millisecond, 100 * time.Millisecond},
		{"12 slots, equal weights and jobs", 12, nil, 100 * time.Millisecond, 100 * time.Millisecond},
		{"12 slots, A=3, B's jobs twice as long", 12, map[string]string{"A": "3"}, 100 * time.Millisecond, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, tc.slots, tc.weights)
			// A millisecond of jitter, as on a real machine: no two ends
			// fall at the same instant, so no tie of virtual times
			// shares the slots by chance.
			rng := rand.New(rand.NewPCG(1, 2))
			for _, id := range append(s.submit("A", "a1", 5000, tc.runA), s.submit("B", "b1", 5000, tc.runB)...) {
				s.runTime[id] += time.Duration(rng.Int64N(int64(time.Millisecond)))
			}
			// A's share of the slots, from its weight and the lengths.
			wA := 1.0
			if tc.weights != nil {
				wA, _ = strconv.ParseFloat(tc.weights["A"], 64)
			}
			want := float64(tc.slots) * wA / (wA + 1)
			lo, hi := tc.slots, 0
			for s.now < 10*time.Second && s.step() {
				s.fill()
				if s.now < 2*max(tc.runA, tc.runB) {
					continue // the estimates are learnt from the first jobs
				}
				a := 0
				for _, r := range s.running {
					if r.j.head.CourseID == "A" {
						a++
					}
				}
				lo, hi = min(lo, a), max(hi, a)
			}
			t.Logf("A held %d to %d slots of %d (its share %.2f)", lo, hi, tc.slots, want)
			if float64(lo) < want-2 || float64(hi) > want+2 {
				t.Errorf("A held %d to %d slots of %d, its share is %.2f: the slots swing in rounds", lo, hi, tc.slots, want)
			}
		})
	}
}

// TestFairShare_WeightNames: "client/course" weighs one client's course,
// a bare name that course of every client; a course id with a "/" is
// never taken for another client's course (before, frontend evil's course
// "webapp/algo" got the weight set for webapp's algo).
func TestFairShare_WeightNames(t *testing.T) {
	f := newFairShare(map[string]float64{"webapp/algo": 3, "java": 2, "api:uni-a/algo": 4}, time.Now)
	for _, tt := range []struct {
		client, frontend, course string
		want                     float64
	}{
		{"webapp", "", "algo", 3},
		{"other", "", "algo", 1},
		{"evil", "", "webapp/algo", 1},
		{"any", "", "java", 2},
		{"any", "", "c", 1},
		// A frontend of an admin client (an HTTP API token): by
		// "client:frontend/course", else by the course's name.
		{"api", "uni-a", "algo", 4},
		{"api", "uni-b", "algo", 1},
		{"api", "", "algo", 1},
		{"api", "webapp", "algo", 1},
		{"api", "uni-b", "java", 2},
	} {
		if got := f.weight(courseKey(messages.CourseOwner(tt.client, tt.frontend), tt.course)); got != tt.want {
			t.Errorf("client %q frontend %q course %q: weight %v, want %v", tt.client, tt.frontend, tt.course, got, tt.want)
		}
	}
}
