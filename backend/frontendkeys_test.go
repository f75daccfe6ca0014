package backend

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// algoJob is a job of course "algo" for user, submitted for frontend
// ("" for the client's own).
func algoJob(id, frontend, user string) *messages.ClientNewJob {
	j := newJob(id, "default", 0)
	j.CourseID, j.Frontend = "algo", frontend
	j.InputData["@username"] = user
	return j
}

// TestFrontendField_OnlyFromAnAdmin: a frontend's identity is the NATS
// identity the server enforces, so a frontend client that names a
// frontend (to take its courses' share, or fill their caps) is refused;
// an admin (the HTTP API, for its tokens) may name one, an id.
func TestFrontendField_OnlyFromAnAdmin(t *testing.T) {
	r := newRig(t, func(c *Config) { c.EnvironmentGrace = time.Hour })
	front, api := r.client("webapp"), r.admin("api")
	tests := []struct {
		name     string
		from     *peer
		frontend string
		refusal  string // "" when queued
	}{
		{"a frontend client", front, "uni-a", "only an admin client"},
		{"an admin, a frontend", api, "uni-a", ""},
		{"an admin, not an id", api, "uni a/b", "frontend"},
		{"an admin, none", api, "", ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.from.send(algoJob(string(rune('a'+i))+"-job", tc.frontend, "ann"))
			if tc.refusal == "" {
				next[*messages.BackendJobQueued](tc.from)
				return
			}
			if e := next[*messages.Error](tc.from); e.Code != messages.CodeBadRequest || !strings.Contains(e.Text, tc.refusal) {
				t.Fatalf("refusal %+v, want bad_request naming %q", e, tc.refusal)
			}
		})
	}
}

// TestCaps_CountEachFrontendOfAnAdmin: the HTTP API is one admin client
// for all its tokens; before, two tokens' courses "algo" were one course,
// and one token filling its cap got the other's jobs refused
// (queue_full). A frontend's course, and user, count apart from another
// frontend's and from the admin's own.
func TestCaps_CountEachFrontendOfAnAdmin(t *testing.T) {
	tests := []struct {
		name              string
		perCourse, perUsr int
		evilUser          string
		word              string
	}{
		{"course cap", 3, 0, "mallory", "max-waiting-per-course"},
		{"user cap", 0, 3, "ann", "max-waiting-per-user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(c *Config) {
				c.EnvironmentGrace = time.Hour // no agent: everything waits
				c.MaxWaitingPerCourse, c.MaxWaitingPerUser = tc.perCourse, tc.perUsr
			})
			api := r.admin("api")
			for _, id := range []string{"e1", "e2", "e3"} {
				api.submit(algoJob(id, "evil", tc.evilUser))
			}
			api.send(algoJob("e4", "evil", tc.evilUser))
			if e := next[*messages.Error](api); e.Code != messages.CodeQueueFull || !strings.Contains(e.Text, tc.word) {
				t.Fatalf("evil's job over its own cap: %+v", e)
			}
			api.submit(algoJob("v1", "victim", "ann")) // another frontend's algo and ann
			api.submit(algoJob("o1", "", "ann"))       // the admin's own
		})
	}
}

// TestQueueCounts_NameTheirClient: an admin's snapshot counted two
// clients' courses of one id as one row. Each client's course, and each
// frontend's within an admin client, is a row of its own, named; a
// frontend client's counts are of its own jobs only.
func TestQueueCounts_NameTheirClient(t *testing.T) {
	r := newRig(t, func(c *Config) { c.EnvironmentGrace = time.Hour })
	api, webapp, ops := r.admin("api"), r.client("webapp"), r.admin("ops")
	api.submit(algoJob("a1", "uni-a", "ann"))
	api.submit(algoJob("a2", "uni-a", "bob"))
	api.submit(algoJob("b1", "uni-b", "ann"))
	webapp.submit(algoJob("w1", "", "ann"))
	count := func(client, frontend string, waiting int) messages.QueueCount {
		return messages.QueueCount{EnvironmentType: "docker", Environment: "default", ClientID: client, Frontend: frontend,
			CourseID: "algo", Waiting: waiting}
	}
	tests := []struct {
		name string
		from *peer
		want []messages.QueueCount
	}{
		{"an admin", ops, []messages.QueueCount{count("api", "uni-a", 2), count("api", "uni-b", 1), count("webapp", "", 1)}},
		{"a frontend", webapp, []messages.QueueCount{count("webapp", "", 1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.from.send(&messages.ClientGetQueue{})
			q := next[*messages.BackendGetQueue](tc.from)
			if q.Summary == nil || !slices.Equal(q.Summary.Counts, tc.want) {
				t.Fatalf("counts %+v, want %+v", q.Summary, tc.want)
			}
		})
	}
}

// TestReplay_KeepsTheFrontend: a job replayed with its description, or
// with its head alone (a lazy replay), is still its frontend's: its
// course does not merge into the admin client's after a restart.
func TestReplay_KeepsTheFrontend(t *testing.T) {
	job := algoJob("j1", "uni-a", "ann")
	tests := []struct {
		name string
		t    *JobQueued
	}{
		{"with its description", &JobQueued{Job: job, ClientID: "api", Seq: 1}},
		{"its head alone", &JobQueued{Head: HeadOf(job), ClientID: "api", Frontend: "uni-a", Seq: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(nil, DefaultConfig(), nil)
			if err != nil {
				t.Fatal(err)
			}
			b.apply(tc.t)
			j := b.jobs["j1"]
			if j.owner != "api:uni-a" || j.client() != "api" {
				t.Fatalf("owner %q, client %q; want api:uni-a, api", j.owner, j.client())
			}
			if n := b.queues.waitingBy[courseKey("api:uni-a", "algo")]; n != 1 {
				t.Fatalf("%d jobs waiting in uni-a's algo, want 1", n)
			}
		})
	}
}
