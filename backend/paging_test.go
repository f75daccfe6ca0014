package backend

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// TestPage_EveryJobOnceWhileTheQueueMoves pages through the queue while
// jobs arrive, start, finish and are re-queued between pages: every job
// that stays waiting (or running) throughout is listed exactly once, no
// job twice unless it moved, each page within its limit, only what the
// viewer and the filters keep, and the counts of what they keep.
func TestPage_EveryJobOnceWhileTheQueueMoves(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		req   messages.ClientGetQueue
		v     view
		limit int
	}{
		{"admin", messages.ClientGetQueue{}, view{admin: true}, 37},
		{"frontend", messages.ClientGetQueue{}, view{client: "c1"}, 50},
		{"one environment and course", messages.ClientGetQueue{EnvironmentType: "docker", Environment: "env2", CourseID: "course1"}, view{admin: true, envType: "docker", env: "env2", course: "course1"}, 7},
		{"one environment type", messages.ClientGetQueue{EnvironmentType: "docker"}, view{client: "c0", envType: "docker"}, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := busyQueue(t, 2000, 3)
			rng := rand.New(rand.NewPCG(7, 8))
			// state[id]: the phase it had when paging started, "moved" once it changes.
			state := map[string]string{}
			for id, j := range b.jobs {
				if tc.v.keepsJob(j) {
					state[id] = fmt.Sprint(j.phase == phaseWaiting)
				}
			}
			seen := map[string]int{}
			req := tc.req
			req.Limit = tc.limit
			seq, dispatch := uint64(1_000_000), uint64(1_000_000)
			for pages := 0; ; pages++ {
				if pages > 10_000 {
					t.Fatal("no end")
				}
				m := b.queueAnswer(tc.v.client, tc.v.admin, &req)
				q, ok := m.(*messages.BackendGetQueue)
				if !ok {
					t.Fatalf("answer %#v", m)
				}
				if n := len(q.JobsRunning) + len(q.JobsWaiting); n > tc.limit || (n < tc.limit && q.Next != nil) {
					t.Fatalf("page of %d jobs with limit %d, next %+v", n, tc.limit, q.Next)
				}
				for _, r := range q.JobsRunning {
					seen[r.JobID]++
				}
				for _, w := range q.JobsWaiting {
					seen[w.JobID]++
				}
				for _, id := range append(idsOf(q.JobsRunning, func(r messages.QueueRunningJob) string { return r.JobID }),
					idsOf(q.JobsWaiting, func(w messages.QueueWaitingJob) string { return w.JobID })...) {
					if j := b.jobs[id]; j == nil || !tc.v.keepsJob(j) {
						t.Fatalf("%s listed, not for this view", id)
					}
				}
				if q.Next == nil {
					break
				}
				req.After = q.Next
				// The queue moves between pages.
				for range 5 {
					seq++
					j := newJob(fmt.Sprintf("n%d", seq), fmt.Sprintf("env%d", rng.IntN(3)), rng.IntN(3))
					j.CourseID = fmt.Sprintf("course%d", rng.IntN(3))
					b.apply(&JobQueued{Job: j, ClientID: fmt.Sprintf("c%d", rng.IntN(3)), Seq: seq, At: b.now()})
				}
				for id, j := range b.jobs {
					if rng.IntN(200) != 0 {
						continue
					}
					state[id] = "moved"
					switch {
					case j.phase == phaseWaiting:
						dispatch++
						b.apply(&JobAssigned{JobID: id, AgentID: "a", Attempt: j.attempt + 1, DispatchSeq: dispatch, At: b.now()})
					case rng.IntN(2) == 0:
						b.apply(&JobRequeued{JobID: id})
					default:
						b.apply(&JobFinished{Result: &messages.BackendJobDone{JobID: id}, At: b.now()})
					}
				}
			}
			for id, s := range state {
				if s != "moved" && seen[id] != 1 {
					t.Errorf("%s (waiting %s, stayed) listed %d times", id, s, seen[id])
				}
			}
			for id, n := range seen {
				if n > 1 && state[id] != "moved" {
					t.Errorf("%s listed %d times", id, n)
				}
			}
		})
	}
}

func idsOf[T any](in []T, id func(T) string) []string {
	out := make([]string, 0, len(in))
	for _, x := range in {
		out = append(out, id(x))
	}
	return out
}

// An empty request is answered as before paging; a bad one with an Error;
// heads list at most n jobs of each queue, positions counted per queue.
func TestQueueAnswer_Modes(t *testing.T) {
	t.Parallel()
	b := busyQueue(t, 600, 4)
	legacy := b.snapshot("", true)
	m := b.queueAnswer("", true, &messages.ClientGetQueue{})
	if q := m.(*messages.BackendGetQueue); len(q.JobsWaiting) != len(legacy.JobsWaiting) || q.Next != nil || q.Ref != "" {
		t.Errorf("empty request: %d waiting, next %v", len(q.JobsWaiting), q.Next)
	}
	if e, ok := b.queueAnswer("", true, &messages.ClientGetQueue{Limit: messages.MaxQueuePage + 1}).(*messages.Error); !ok || e.Code != messages.CodeBadRequest {
		t.Errorf("over the bound: %#v", e)
	}
	q := b.queueAnswer("c2", false, &messages.ClientGetQueue{PerQueue: 4, Ref: "r1"}).(*messages.BackendGetQueue)
	if q.Ref != "r1" {
		t.Errorf("ref %q", q.Ref)
	}
	per := map[string][]int{}
	for _, w := range q.JobsWaiting {
		env := w.EnvironmentType + "/" + w.Environment
		per[env] = append(per[env], w.Position)
		if j := b.jobs[w.JobID]; j.client() != "c2" {
			t.Errorf("%s of %s listed to c2", w.JobID, j.client())
		}
	}
	if len(per) != 3 {
		t.Errorf("heads of %d queues, want 3: %v", len(per), per)
	}
	for env, ps := range per {
		if len(ps) != 4 || ps[0] < 1 {
			t.Errorf("%s: positions %v", env, ps)
		}
		for i := 1; i < len(ps); i++ {
			if ps[i] <= ps[i-1] {
				t.Errorf("%s: positions %v", env, ps)
			}
		}
	}
}

// TestPage_OneJob asks for single jobs by id, wherever they wait: each
// is listed to the admin and its own client alone (running or waiting as
// it is), not through a filter that leaves it out, and an unknown id
// lists nothing.
func TestPage_OneJob(t *testing.T) {
	t.Parallel()
	b := busyQueue(t, 2000, 3)
	checked := map[jobPhase]int{}
	for id, j := range b.jobs {
		_, running := b.queues.index.running[j]
		for _, tc := range []struct {
			name   string
			client string
			admin  bool
			course string
			want   bool
		}{
			{"admin", "", true, "", true},
			// A job an admin client submitted for a frontend is that
			// client's to see only as an admin.
			{"its client", j.client(), false, "", j.owner == j.client()},
			{"its course", j.client(), false, j.head.CourseID, j.owner == j.client()},
			{"another client", j.client() + "x", false, "", false},
			{"another course", "", true, j.head.CourseID + "x", false},
		} {
			q := b.queueAnswer(tc.client, tc.admin, &messages.ClientGetQueue{Limit: 1, JobID: id, CourseID: tc.course}).(*messages.BackendGetQueue)
			got := len(q.JobsRunning) + len(q.JobsWaiting)
			switch {
			case !tc.want && got != 0:
				t.Fatalf("%s: %s listed to %s", tc.name, id, tc.client)
			case tc.want && got != 1:
				t.Fatalf("%s: %s (phase %d) listed %d times", tc.name, id, j.phase, got)
			case tc.want && running && (len(q.JobsRunning) != 1 || q.JobsRunning[0].JobID != id):
				t.Fatalf("%s: running %s listed as %+v", tc.name, id, q)
			case tc.want && !running && (len(q.JobsWaiting) != 1 || q.JobsWaiting[0].JobID != id):
				t.Fatalf("%s: waiting %s listed as %+v", tc.name, id, q)
			case q.Next != nil || len(q.Agents) != 0:
				t.Fatalf("%s: a page after one job, or agents: %+v, %d agents", tc.name, q.Next, len(q.Agents))
			}
		}
		checked[j.phase]++
	}
	if checked[phaseWaiting] < 1000 || checked[phaseRunning]+checked[phaseAssigned] == 0 {
		t.Fatalf("checked %v: the queue is not deep, or nothing runs", checked)
	}
	q := b.queueAnswer("", true, &messages.ClientGetQueue{Limit: 1, JobID: "no-such-job"}).(*messages.BackendGetQueue)
	if len(q.JobsRunning)+len(q.JobsWaiting) != 0 {
		t.Errorf("an unknown id listed %+v", q)
	}
	for _, bad := range []messages.ClientGetQueue{{JobID: "j1"}, {Limit: 1, JobID: "j1", After: &messages.QueueCursor{Running: true}}, {Limit: 1, JobID: "bad id\n"}} {
		if e, ok := b.queueAnswer("", true, &bad).(*messages.Error); !ok || e.Code != messages.CodeBadRequest {
			t.Errorf("%+v answered %#v", bad, e)
		}
	}
}
