package backend

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

func TestPriorityThenFIFO(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	// No agent yet: jobs wait (the client asks to wait for the environment).
	order := []struct {
		id   string
		prio int
	}{{"low1", 5}, {"high1", 0}, {"mid1", 2}, {"high2", 0}, {"low2", 5}, {"mid2", 2}}
	for _, o := range order {
		j := newJob(o.id, "default", o.prio)
		j.WaitForEnvironment = true
		c.submit(j)
	}
	a := r.agent("a1", 1, "docker/default")
	want := []string{"high1", "high2", "mid1", "mid2", "low1", "low2"}
	for i, id := range want {
		j := a.take()
		if j.JobID != id {
			t.Fatalf("dispatch %d: got %s, want %s", i, j.JobID, id)
		}
		if j.Attempt != 1 || j.Seq != uint64(i+1) {
			t.Fatalf("job %s: attempt %d seq %d", id, j.Attempt, j.Seq)
		}
		a.finish(j, messages.StatusSuccess)
		done := next[*messages.BackendJobDone](c)
		if done.JobID != id || done.Result.Status != messages.StatusSuccess || done.Grade != 100 {
			t.Fatalf("done: %+v", done)
		}
	}
}

func TestRoutingByEnvironment(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	py := r.agent("py", 2, "docker/python")
	cc := r.agent("cc", 2, "docker/cpp", "docker-ssh/cpp")
	c.submit(newJob("j-py", "python", 0))
	c.submit(newJob("j-cc", "cpp", 0))
	ssh := newJob("j-ssh", "cpp", 0)
	ssh.EnvironmentType = "docker-ssh"
	c.submit(ssh)
	if j := py.take(); j.JobID != "j-py" {
		t.Fatalf("python agent got %s", j.JobID)
	}
	got := map[string]bool{cc.take().JobID: true, cc.take().JobID: true}
	if !got["j-cc"] || !got["j-ssh"] {
		t.Fatalf("cpp agent got %v", got)
	}
	py.quiet(100 * time.Millisecond)
}

func TestLoadSpreadsOverAgents(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	agents := []*fakeAgent{r.agent("a", 4, "docker/default"), r.agent("b", 4, "docker/default"), r.agent("c", 2, "docker/default")}
	// 5 jobs on 10 slots: least busy first gives a 2, b 2, c 1 (c has
	// fewer slots, so one job makes it as busy as two on a or b).
	for i := range 5 {
		c.submit(newJob(fmt.Sprintf("j%d", i), "default", 0))
	}
	counts := map[string]int{}
	for _, a := range agents {
		counts[a.ID] = len(collect[*messages.BackendNewJob](a.peer, 200*time.Millisecond))
	}
	if counts["a"] != 2 || counts["b"] != 2 || counts["c"] != 1 {
		t.Fatalf("spread %v, want a:2 b:2 c:1", counts)
	}
}

// A job for an environment no agent offers, once agents had time to say
// hello, is refused as the caller's mistake, naming what is offered; it
// is not queued to end as crash. With wait_for_environment it waits.
func TestUnknownEnvironment(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	r.agent("a", 1, "docker/default")
	c.send(newJob("nope", "missing", 0))
	e := next[*messages.Error](c)
	if e.Code != messages.CodeBadRequest || e.JobID != "nope" || !strings.Contains(e.Text, "docker/missing") ||
		!strings.Contains(e.Text, "docker/default") {
		t.Fatalf("got %+v, want bad_request naming docker/missing and what is offered", e)
	}
	waiting := newJob("patient", "missing", 0)
	waiting.WaitForEnvironment = true
	c.submit(waiting)
	b := r.agent("b", 1, "docker/missing")
	if j := b.take(); j.JobID != "patient" {
		t.Fatalf("got %s", j.JobID)
	}
}

func TestEnvironmentGraceAfterStart(t *testing.T) {
	r := newRig(t, func(c *Config) { c.EnvironmentGrace = time.Hour })
	c := r.client("c1")
	c.submit(newJob("early", "default", 0))
	a := r.agent("a", 1, "docker/default")
	if j := a.take(); j.JobID != "early" {
		t.Fatalf("got %s", j.JobID)
	}
}

func TestDuplicateJobID(t *testing.T) {
	r := newRig(t, nil)
	c, other := r.client("c1"), r.client("c2")
	a := r.agent("a", 1, "docker/default")
	c.submit(newJob("dup", "default", 0))
	for _, p := range []*peer{c, other} {
		p.send(newJob("dup", "default", 0))
		if e := next[*messages.Error](p); e.Code != messages.CodeDuplicateJob || e.JobID != "dup" {
			t.Fatalf("got %+v", e)
		}
	}
	j := a.take()
	a.finish(j, messages.StatusFailed)
	if d := next[*messages.BackendJobDone](c); d.Result.Status != messages.StatusFailed {
		t.Fatalf("got %+v", d)
	}
	// Finished: still refused; the submitting client gets its result again,
	// another client gets only the refusal.
	c.send(newJob("dup", "default", 0))
	next[*messages.Error](c)
	if d := next[*messages.BackendJobDone](c); d.JobID != "dup" {
		t.Fatalf("resent %+v", d)
	}
	other.send(newJob("dup", "default", 0))
	next[*messages.Error](other)
	other.quiet(100 * time.Millisecond)
	a.quiet(100 * time.Millisecond)
}

func TestBadJobsRefused(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	cases := map[string]func(*messages.ClientNewJob){
		"empty id":       func(j *messages.ClientNewJob) { j.JobID = "" },
		"id with dot":    func(j *messages.ClientNewJob) { j.JobID = "a.b" },
		"no environment": func(j *messages.ClientNewJob) { j.Environment = "" },
		"bad debug":      func(j *messages.ClientNewJob) { j.Debug = "verbose" },
		"negative time":  func(j *messages.ClientNewJob) { j.EnvironmentParameters.Limits.Time = -1 },
		"negative mem":   func(j *messages.ClientNewJob) { j.EnvironmentParameters.Limits.Memory = -5 },
		// Names longer than queue pages, their filters and the history's
		// summaries carry.
		"course_id":           func(j *messages.ClientNewJob) { j.CourseID = long },
		"task_id":             func(j *messages.ClientNewJob) { j.TaskID = long },
		"environment_type":    func(j *messages.ClientNewJob) { j.EnvironmentType = long },
		"environment":         func(j *messages.ClientNewJob) { j.Environment = long },
		"launcher":            func(j *messages.ClientNewJob) { j.Launcher = long },
		"the @username input": func(j *messages.ClientNewJob) { j.InputData = map[string]any{"@username": long} },
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			j := newJob("bad-"+strings.ReplaceAll(strings.ReplaceAll(name, " ", "-"), "@", ""), "default", 0)
			spoil(j)
			c.send(j)
			e := next[*messages.Error](c)
			if e.Code != messages.CodeBadRequest {
				t.Fatalf("got %+v", e)
			}
			if strings.Contains(name, "_") || strings.Contains(name, "@") || name == "environment" || name == "launcher" {
				if want := name + " of 257 bytes is longer than 256"; !strings.Contains(e.Text, want) {
					t.Fatalf("error %q does not say %q", e.Text, want)
				}
			}
		})
	}
	// At the bound, every name is taken (the job waits for its
	// environment).
	j := newJob("names-at-the-bound", "default", 0)
	at := long[:messages.MaxNameLength]
	j.CourseID, j.TaskID, j.Launcher, j.InputData = at, at, at, map[string]any{"@username": at}
	j.EnvironmentType, j.Environment, j.WaitForEnvironment = at, at, true
	c.send(j)
	if q := next[*messages.BackendJobQueued](c); q.JobID != j.JobID {
		t.Fatalf("got %+v", q)
	}
}

// long is one byte over messages.MaxNameLength.
var long = strings.Repeat("n", messages.MaxNameLength+1)

// A job for an environment nobody offers, submitted while agents may still
// be saying hello, waits out the grace period, then fails; one whose
// environment appears in time runs.
func TestEnvironmentGraceEnds(t *testing.T) {
	r := newRig(t, func(c *Config) { c.EnvironmentGrace = 400 * time.Millisecond })
	c := r.client("c1")
	c.submit(newJob("never", "missing", 0))
	c.submit(newJob("soon", "default", 0))
	a := r.agent("a", 1, "docker/default")
	if j := a.take(); j.JobID != "soon" {
		t.Fatalf("got %s", j.JobID)
	}
	d := next[*messages.BackendJobDone](c)
	if d.JobID != "never" || d.Result.Status != messages.StatusCrash {
		t.Fatalf("got %+v", d)
	}
}
