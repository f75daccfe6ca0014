package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/internal/bundle"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestPrioritiesRoutingAndSpread runs the scheduling rules through every
// real component: three agents, two environments, one client.
func TestPrioritiesRoutingAndSpread(t *testing.T) {
	c := newCluster(t)
	cl := c.client("web")
	c.agent("a1", 2, false, "docker/default")
	c.agent("a2", 2, false, "docker/default")
	c.agent("a3", 1, false, "docker/python")
	waitEnvironments(t, cl, "docker/default", "docker/python")

	// Four slow jobs fill the four default slots: two per agent (spread,
	// not the first agent's slots first).
	var blockers []string
	for i := range 4 {
		id := fmt.Sprintf("block-%d", i)
		blockers = append(blockers, id)
		submit(t, cl, job(id, "docker/default", 0, map[string]any{"hang": true}))
	}
	var q *messages.BackendGetQueue
	testutil.Eventually(t, wait, func() bool {
		var err error
		q, err = cl.Queue(context.Background())
		return err == nil && len(q.JobsRunning) == 4
	}, "4 jobs running")
	per := map[string]int{}
	for _, r := range q.JobsRunning {
		per[r.AgentID]++
	}
	if per["a1"] != 2 || per["a2"] != 2 {
		t.Fatalf("spread %v", per)
	}

	// Now queue jobs of mixed priorities behind them, and one python job.
	order := []struct {
		id   string
		prio int
	}{{"p5-a", 5}, {"p0-a", 0}, {"p5-b", 5}, {"p0-b", 0}, {"p1-a", 1}}
	jobs := map[string]*frontendclient.Job{}
	for _, o := range order {
		jobs[o.id] = submit(t, cl, job(o.id, "docker/default", o.prio, map[string]any{"sleep": "1ms"}))
	}
	py := submit(t, cl, job("py", "docker/python", 9, nil))
	if r := result(t, py); r.Result.Status != messages.StatusSuccess || r.Custom["echo"].(map[string]any)["agent_id"] != "a3" {
		t.Fatalf("python job: %+v", r)
	}

	q, err := cl.Queue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var waiting []string
	for _, w := range q.JobsWaiting {
		waiting = append(waiting, w.JobID)
	}
	if fmt.Sprint(waiting) != "[p0-a p0-b p1-a p5-a p5-b]" {
		t.Fatalf("waiting order %v", waiting)
	}
	if q.JobsWaiting[0].Reason != messages.WaitSlotsBusy || q.JobsWaiting[0].Position != 1 ||
		q.JobsWaiting[3].Reason != messages.WaitLowerPriority || !q.JobsWaiting[0].IsMine {
		t.Fatalf("waiting details %+v", q.JobsWaiting)
	}
	if len(q.Agents) != 3 {
		t.Fatalf("agents %+v", q.Agents)
	}

	// Free one slot: the queued jobs go through it one after the other, in
	// priority order, FIFO within a priority.
	var finished []string
	if err := cl.KillJob(context.Background(), blockers[0]); err != nil {
		t.Fatal(err)
	}
	arrivals := doneOrder(t, jobs)
	for range order {
		select {
		case id := <-arrivals:
			finished = append(finished, id)
		case <-time.After(wait):
			t.Fatalf("finished so far %v", finished)
		}
	}
	if fmt.Sprint(finished) != "[p0-a p0-b p1-a p5-a p5-b]" {
		t.Fatalf("finish order %v", finished)
	}
}

// doneOrder reports job ids as their results arrive. Each job's result
// comes before the next job can start (one slot), so arrival order is
// dispatch order.
func doneOrder(t *testing.T, jobs map[string]*frontendclient.Job) <-chan string {
	out := make(chan string, len(jobs))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for id, j := range jobs {
		go func() {
			select {
			case <-j.Done():
				out <- id
			case <-ctx.Done():
			}
		}()
	}
	return out
}

func TestKills(t *testing.T) {
	c := newCluster(t)
	cl := c.client("web")
	a := c.agent("a1", 1, false, "docker/default")
	waitEnvironments(t, cl, "docker/default")

	running := submit(t, cl, job("running", "docker/default", 0, map[string]any{"hang": true}))
	waiting := submit(t, cl, job("waiting", "docker/default", 0, nil))
	testutil.Eventually(t, wait, func() bool { return len(a.agent.Running()) == 1 }, "job running")

	if err := cl.KillJob(context.Background(), "waiting"); err != nil {
		t.Fatal(err)
	}
	if r := result(t, waiting); r.Result.Status != messages.StatusKilled || r.State != "before" {
		t.Fatalf("killed waiting: %+v", r)
	}
	if err := cl.KillJob(context.Background(), "running"); err != nil {
		t.Fatal(err)
	}
	if r := result(t, running); r.Result.Status != messages.StatusKilled || r.State != "before" {
		t.Fatalf("killed running: %+v", r)
	}

	// Kill while the container is being created: the job never starts.
	starting := submit(t, cl, job("starting", "docker/default", 0, map[string]any{"block_start": true}))
	testutil.Eventually(t, wait, func() bool { return a.runtime.Blocked("starting") }, "job blocked in start")
	before := a.runtime.Stats().Started
	if err := cl.KillJob(context.Background(), "starting"); err != nil {
		t.Fatal(err)
	}
	if r := result(t, starting); r.Result.Status != messages.StatusKilled {
		t.Fatalf("killed starting: %+v", r)
	}
	a.runtime.Release("starting")
	if s := a.runtime.Stats(); s.Started != before || s.MaxActive > 1 {
		t.Fatalf("runtime stats after kill-during-start: %+v", s)
	}

	// Killing an unknown or finished job is an error the caller can read.
	err := cl.KillJob(context.Background(), "running")
	var me *messages.Error
	if !errors.As(err, &me) || me.Code != messages.CodeUnknownJob {
		t.Fatalf("kill finished: %v", err)
	}
}

// TestAgentLostMidJob partitions an agent while it grades: the backend
// loses it, the job runs again elsewhere, and the late result of the first
// attempt is refused when the partition heals.
func TestAgentLostMidJob(t *testing.T) {
	c := newCluster(t)
	cl := c.client("web")
	lost := c.agent("lost", 1, true, "docker/default")
	waitEnvironments(t, cl, "docker/default")
	j := submit(t, cl, job("j", "docker/default", 0, map[string]any{"sleep": "1500ms"}))
	testutil.Eventually(t, wait, func() bool { return len(lost.agent.Running()) == 1 }, "job running on the first agent")

	lost.proxy.Pause()
	c.agent("rescue", 1, false, "docker/default")
	r := result(t, j)
	echo := r.Custom["echo"].(map[string]any)
	if r.Result.Status != messages.StatusSuccess || echo["agent_id"] != "rescue" || fmt.Sprint(echo["attempt"]) != "2" {
		t.Fatalf("result %+v", r)
	}
	lost.proxy.Resume()
	// The first attempt finishes on the healed agent and is refused.
	testutil.Eventually(t, wait, func() bool { return c.backend.Stats().StaleAttempts >= 1 }, "late result refused")
	testutil.Eventually(t, wait, func() bool { return len(lost.agent.Running()) == 0 }, "lost agent settles")
	if s := cl.Stats(); s.DuplicateResults != 0 {
		t.Fatalf("client saw duplicates: %+v", s)
	}
	if s := c.backend.Stats(); s.Finished != 1 || s.Requeued != 1 {
		t.Fatalf("backend stats %+v", s)
	}
}

func TestUnknownEnvironmentAndDuplicateID(t *testing.T) {
	c := newCluster(t)
	cl := c.client("web")
	c.agent("a1", 1, false, "docker/default")
	waitEnvironments(t, cl, "docker/default")

	// Refused as the caller's mistake once agents had time to say hello,
	// rather than queued to end as crash.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := cl.NewJob(ctx, job("nope", "docker/nonexistent", 0, nil))
	var me *messages.Error
	if !errors.As(err, &me) || me.Code != messages.CodeBadRequest || !strings.Contains(me.Text, "docker/nonexistent") {
		t.Fatalf("unknown env: %v, want bad_request naming it", err)
	}
	first := submit(t, cl, job("same", "docker/default", 0, nil))
	other := c.client("other")
	_, err = other.NewJob(ctx, job("same", "docker/default", 0, nil))
	if !errors.As(err, &me) || me.Code != messages.CodeDuplicateJob {
		t.Fatalf("duplicate: %v", err)
	}
	if r := result(t, first); r.Result.Status != messages.StatusSuccess {
		t.Fatalf("first: %+v", r)
	}
}

// TestMalformedMessages throws garbage at both backend subjects, from
// valid and invalid senders, and checks that everyone keeps working.
func TestMalformedMessages(t *testing.T) {
	c := newCluster(t)
	cl := c.client("web")
	c.agent("a1", 1, false, "docker/default")
	waitEnvironments(t, cl, "docker/default")
	raw := testutil.Connect(t, c.nats.URL, "raw")
	subj := messages.NewSubjects("")
	valid, _ := messages.Encode(&messages.AgentJobDone{JobID: "ghost", Attempt: 1})
	garbage := [][]byte{nil, []byte("hello"), {0xd9, 0x9b, 0xdc}, valid[:len(valid)-3], make([]byte, 1<<20)}
	for _, g := range garbage {
		for _, to := range []string{subj.BackendClient("web"), subj.BackendAgent("a1")} {
			for _, reply := range []string{"", subj.Client("web"), subj.Agent("a1"), "elsewhere"} {
				if err := raw.PublishMsg(&nats.Msg{Subject: to, Reply: reply, Data: g}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// A valid agent message about a job nobody knows, from a real agent id.
	_ = raw.PublishMsg(&nats.Msg{Subject: subj.BackendAgent("a1"), Reply: subj.Agent("a1"), Data: valid})
	if err := raw.Flush(); err != nil {
		t.Fatal(err)
	}
	r := result(t, submit(t, cl, job("after", "docker/default", 0, nil)))
	if r.Result.Status != messages.StatusSuccess {
		t.Fatalf("after garbage: %+v", r)
	}
	testutil.Eventually(t, wait, func() bool { return c.backend.Stats().Malformed >= int64(2*4*len(garbage)) }, "malformed counted: %+v", c.backend.Stats())
}

// TestReconnectAfterNATSRestart restarts the NATS server under a running
// system: client and agents come back on their own, the job submitted
// before the outage gets exactly one result, and new jobs run. The outage
// is longer than the agents' heartbeat budget: the backend must not take
// its own disconnection for the agents' death and run the job again.
func TestReconnectAfterNATSRestart(t *testing.T) {
	c := newCluster(t)
	cl := c.client("web")
	a := c.agent("a1", 2, false, "docker/default")
	waitEnvironments(t, cl, "docker/default")
	before := submit(t, cl, job("before", "docker/default", 0, map[string]any{"sleep": "4s"}))
	testutil.Eventually(t, wait, func() bool { return len(a.agent.Running()) == 1 }, "job running")

	c.nats.Stop()
	time.Sleep(2500 * time.Millisecond) // beyond the 2 s heartbeat budget
	c.nats.Start()

	if r := result(t, before); r.Result.Status != messages.StatusSuccess {
		t.Fatalf("before: %+v", r)
	}
	after := submit(t, cl, job("after", "docker/default", 0, nil))
	if r := result(t, after); r.Result.Status != messages.StatusSuccess {
		t.Fatalf("after: %+v", r)
	}
	if s := cl.Stats(); s.DuplicateResults != 0 {
		t.Fatalf("duplicates %+v", s)
	}
	if s := c.backend.Stats(); s.AgentsLost != 0 || s.Requeued != 0 {
		t.Errorf("the outage cost an agent or an attempt: %+v", s)
	}
}

// TestTaskBundleTravels submits a job with a task folder: the client packs
// and uploads it once, the agent fetches it by hash into its cache, and the
// runtime receives exactly those bytes.
func TestTaskBundleTravels(t *testing.T) {
	c := newCluster(t)
	cl := c.client("web")
	nc := c.connect("agent-bundles", c.nats.URL)
	cache, err := bundle.OpenCache(nc, "", t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	rt := fake.New(fake.Options{Environments: map[string][]string{"docker": {"default"}}})
	a, err := agent.New(nc, rt, cache, agent.Config{ID: "bundled", Slots: 2, HeartbeatInterval: 50 * time.Millisecond}, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	c.run("agent bundled", a.Run)
	waitEnvironments(t, cl, "docker/default")

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\nfeedback-result success\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "task.yaml"), []byte("environment_id: default\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := bundle.Pack(dir, bundle.PackLimits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"b1", "b2"} {
		req := job(id, "docker/default", 0, nil)
		req.TaskDir = dir
		r := result(t, submit(t, cl, req))
		echo := r.Custom["echo"].(map[string]any)
		if echo["task_bundle"] != want.Digest() || fmt.Sprint(echo["task_bundle_bytes"]) != fmt.Sprint(want.Size()) {
			t.Fatalf("%s: runtime got bundle %v (%v bytes), want %s (%d bytes)", id, echo["task_bundle"], echo["task_bundle_bytes"], want.Digest(), want.Size())
		}
	}
	if s := cl.Stats(); s.BundlesUploaded != 1 {
		t.Fatalf("uploaded %d times, want once", s.BundlesUploaded)
	}
}
