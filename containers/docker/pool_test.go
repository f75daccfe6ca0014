package docker

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// TestPool_SameAsCold: a job through the pool ends as the same job
// started cold, for each kind of outcome.
func TestPool_SameAsCold(t *testing.T) {
	t.Parallel()
	crashEnv := "ingo-test-crash-" + strings.ToLower(rand.Text()[:6])
	cases := []struct {
		name string
		env  string
		run  string
		set  func(*messages.Limits)
		want messages.Status
	}{
		{name: "success", run: "#!/bin/sh\nfeedback-result success\nfeedback-msg -m done\n", want: messages.StatusSuccess},
		{name: "failed", run: "#!/bin/sh\nfeedback-result failed\nfeedback-msg -m 'wrong answer'\n", want: messages.StatusFailed},
		{name: "cpu-timeout", run: "#!/bin/bash\nwhile :; do :; done\n",
			set: func(l *messages.Limits) { l.Time, l.HardTime = 1, 20 }, want: messages.StatusTimeout},
		{name: "hard-timeout", run: "#!/bin/sh\nsleep 1000\n",
			set: func(l *messages.Limits) { l.Time, l.HardTime = 10, 1 }, want: messages.StatusTimeout},
		{name: "out-of-memory", run: "#!/usr/bin/env python3\nx = []\nwhile True:\n    x.append(bytearray(8 << 20))\n",
			set: func(l *messages.Limits) { l.Memory = 64 }, want: messages.StatusOverflow},
		// The helper of this image reads a little of its files and exits:
		// the container stops without a result.
		{name: "crash", env: crashEnv, run: "#!/bin/sh\nfeedback-result success\n", want: messages.StatusCrash},
	}
	buildEnv(t, crashEnv, entrypoint("/bin/sh", "-c", "head -c 100 >/dev/null; sleep 0.2"))
	cold := newTestRuntime(t, Options{})
	cold.pool.close()
	cold.pool = nil // the package switch may have given it one
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := task(t, map[string]string{"run": tc.run})
			mk := func(r *Runtime) *containers.Job {
				j := newJob(r, b, nil)
				if tc.env != "" {
					j.Desc.Environment = tc.env
				}
				if tc.set != nil {
					tc.set(&j.Limits)
				}
				return j
			}
			want, _ := runJobCold(t, cold, mk(cold))
			env := "default"
			if tc.env != "" {
				env = tc.env
			}
			job := mk(cold)
			r := newPoolRuntime(t, Options{}, env, job.Limits)
			got := runPooled(t, r, job)
			if want.Result.Status != tc.want {
				t.Errorf("cold: %s %q, want %s", want.Result.Status, want.Result.Text, tc.want)
			}
			if got.Result != want.Result || got.Grade != want.Grade {
				t.Errorf("warm: %+v grade %v; cold: %+v grade %v", got.Result, got.Grade, want.Result, want.Grade)
			}
		})
	}
}

// TestPool_NeverReused: two jobs, two containers; the first is gone once
// its job ended.
func TestPool_NeverReused(t *testing.T) {
	t.Parallel()
	env := privateEnv(t)
	r := newPoolRuntime(t, Options{}, env, messages.Limits{})
	b := task(t, map[string]string{"run": "#!/bin/sh\nfeedback-result success\nfeedback-msg -m \"$(hostname)\"\n"})
	var hosts []string
	for range 2 {
		job := newJob(r, b, nil)
		job.Desc.Environment = env
		res := runPooled(t, r, job)
		if res.Result.Status != messages.StatusSuccess {
			t.Fatalf("result %+v", res.Result)
		}
		hosts = append(hosts, res.Result.Text)
	}
	if hosts[0] == hosts[1] || len(hosts[0]) < 12 {
		t.Errorf("containers %q: not two of them", hosts)
	}
	r.reaping.Wait() // the removal after the result
	for _, c := range poolContainers(t, r.opts.AgentID) {
		if strings.HasPrefix(c.ID, hosts[0]) {
			t.Errorf("the first job's container %s is still there (%s)", c.ID, c.State)
		}
	}
}

// TestPool_DeadIdleContainerNotUsed: an idle container killed by someone
// else is never handed a job, whether the pool noticed its death before
// the job came or only when the job takes it.
func TestPool_DeadIdleContainerNotUsed(t *testing.T) {
	t.Parallel()
	b := task(t, map[string]string{"run": "#!/bin/sh\nfeedback-result success\nfeedback-msg -m \"$(hostname)\"\n"})
	env := privateEnv(t)
	for _, tc := range []struct {
		name   string
		settle bool // let the pool's watcher see the death first
	}{{"noticed", true}, {"at-take", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newPoolRuntime(t, Options{}, env, messages.Limits{})
			job := newJob(r, b, nil)
			job.Desc.Environment = env
			r.pool.setShape(job.Limits)
			id := waitIdle(t, r)
			if tc.settle {
				if err := rawClient(t).ContainerKill(context.Background(), id, "KILL"); err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(10 * time.Second)
				for r.PoolStats().Discarded == 0 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
			} else {
				// Killed behind the pool's back: its watcher is held off
				// by the lock until the job took it.
				r.pool.mu.Lock()
				err := rawClient(t).ContainerKill(context.Background(), id, "KILL")
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) {
					ins, err := rawClient(t).ContainerInspect(context.Background(), id)
					if err != nil || !ins.State.Running {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				r.pool.mu.Unlock()
				if err != nil {
					t.Fatal(err)
				}
			}
			res, _ := runJobCold(t, r, job)
			if res.Result.Status != messages.StatusSuccess || strings.HasPrefix(id, res.Result.Text) {
				t.Errorf("result %+v; killed container %.12s", res.Result, id)
			}
			if s := r.PoolStats(); s.Discarded == 0 {
				t.Errorf("stats %+v: the dead container was not discarded", s)
			}
		})
	}
}

// TestPool_DyingImageBacksOff: an image whose helper exits at once makes
// no container the pool could hand out, and the pool does not remake
// them in a tight loop.
func TestPool_DyingImageBacksOff(t *testing.T) {
	t.Parallel()
	env := "ingo-test-dies-" + strings.ToLower(rand.Text()[:6])
	buildEnv(t, env, entrypoint("/bin/true"))
	r := newPoolRuntime(t, Options{}, env, messages.Limits{Memory: 128})
	time.Sleep(3 * time.Second)
	s := r.PoolStats()
	// 0.5 + 1 + 2 s of backoff: at most four in three seconds.
	if s.Made > 4 {
		t.Errorf("stats %+v: made too many", s)
	}
	job := newJob(r, task(t, map[string]string{"run": "#!/bin/sh\nfeedback-result success\n"}), nil)
	job.Desc.Environment, job.Limits.Memory = env, 128
	if res, _ := runJobCold(t, r, job); res.Result.Status != messages.StatusCrash {
		t.Errorf("result %+v, want the crash of a cold start", res.Result)
	}
	if r.PoolStats().Hits != 0 {
		t.Errorf("a dead container was handed a job")
	}
}

// TestPool_Bypass: jobs whose container would not be the pool's start
// cold, and leave the pool's container idle.
func TestPool_Bypass(t *testing.T) {
	t.Parallel()
	env := privateEnv(t)
	r := newPoolRuntime(t, Options{}, env, messages.Limits{})
	b := task(t, map[string]string{"run": "#!/bin/sh\nfeedback-result success\n"})
	base := newJob(r, b, nil)
	r.pool.setShape(base.Limits)
	big := strings.Repeat("x", inputRoomBytes+1)
	for _, tc := range []struct {
		name string
		set  func(*containers.Job)
	}{
		{"debug", func(j *containers.Job) { j.Desc.Debug = messages.DebugOn }},
		{"network", func(j *containers.Job) { j.Desc.EnvironmentParameters.NetworkGrading = true }},
		{"memory", func(j *containers.Job) { j.Limits.Memory = 96 }},
		{"output", func(j *containers.Job) { j.Limits.Output = 2 << 20 }},
		{"large-input", func(j *containers.Job) { j.Desc.InputData = map[string]any{"q": big} }},
	} {
		job := newJob(r, b, nil)
		job.Desc.Environment = env
		tc.set(job)
		id := waitIdle(t, r)
		before := r.PoolStats()
		res, _ := runJobCold(t, r, job)
		after := r.PoolStats()
		if res.Result.Status != messages.StatusSuccess {
			t.Errorf("%s: result %+v", tc.name, res.Result)
		}
		if after.Hits != before.Hits || after.Bypassed != before.Bypassed+1 {
			t.Errorf("%s: stats %+v then %+v, want one more bypass", tc.name, before, after)
		}
		if again := waitIdle(t, r); again != id {
			t.Errorf("%s: the idle container changed (%.12s, then %.12s)", tc.name, id, again)
		}
	}
}

// TestPool_CleanupAndClose: Cleanup removes warm containers of dead
// sessions of this installation and agent, and those of its own session
// the pool no longer has, never another installation's nor the pool's
// own; Close removes the idle ones.
func TestPool_CleanupAndClose(t *testing.T) {
	t.Parallel()
	const inst = "inst-pool"
	r := newPoolRuntime(t, Options{}, privateEnv(t), messages.Limits{Memory: 64, Processes: 64, Output: 1 << 20, Disk: 16})
	r.pool.setOwner(owner{inst, "live"})
	own := waitIdle(t, r)
	cli := rawClient(t)
	ctx := context.Background()
	mkLeft := func(installation, session string) string {
		t.Helper()
		c, err := cli.ContainerCreate(ctx, &container.Config{Image: "ingo/env-minimal", Entrypoint: []string{"/bin/true"}, Labels: map[string]string{
			LabelAgent: r.opts.AgentID, LabelInstallation: installation, LabelSession: session, LabelPool: newToken(),
		}}, nil, nil, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}) })
		return c.ID
	}
	dead, lost, other := mkLeft(inst, "dead"), mkLeft(inst, "live"), mkLeft("inst-other", "dead")
	exists := func(id string) bool { _, err := cli.ContainerInspect(ctx, id); return err == nil }

	req := containers.CleanupRequest{Installation: inst, Session: "live"}
	if _, err := r.Cleanup(ctx, req); err != nil {
		t.Fatal(err)
	}
	if exists(lost) || !exists(dead) || !exists(other) || !exists(own) {
		t.Errorf("own session: lost %v dead %v other %v idle %v; want false true true true", exists(lost), exists(dead), exists(other), exists(own))
	}
	req.Others = true
	if _, err := r.Cleanup(ctx, req); err != nil {
		t.Fatal(err)
	}
	if exists(dead) || !exists(other) || !exists(own) {
		t.Errorf("other sessions: dead %v other %v idle %v; want false true true", exists(dead), exists(other), exists(own))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if left := poolContainers(t, r.opts.AgentID); len(left) != 1 || left[0].ID != other {
		t.Errorf("after Close: %d warm containers of the agent id, want only the other installation's", len(left))
	}
}

// TestPool_ImageChange: a new image for the environment's name makes its
// idle container go, and the next one is of the new image.
func TestPool_ImageChange(t *testing.T) {
	t.Parallel()
	env := "ingo-test-change-" + strings.ToLower(rand.Text()[:6])
	buildEnv(t, env)
	r := newPoolRuntime(t, Options{}, env, messages.Limits{Memory: 64})
	old := waitIdle(t, r)
	// Its first step is the first build's image (the builder's cache).
	img := buildEnv(t, env, "LABEL io.ingo.test.version=2")
	deadline := time.Now().Add(idleWait)
	for time.Now().Before(deadline) {
		if id := waitIdle(t, r); id != old {
			ins, err := rawClient(t).ContainerInspect(context.Background(), id)
			if err != nil || ins.Image != img {
				t.Errorf("new idle container of image %s, want %s (%v)", ins.Image, img, err)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("the idle container of the old image stayed")
}

// TestPool_Eligible: which attempts a warm container may run, from what
// plan decided: SSH, debug, network and course files start cold, as an
// input over the room every container has.
func TestPool_Eligible(t *testing.T) {
	ok := func() *attempt {
		return &attempt{job: &containers.Job{Desc: &messages.JobDescription{JobID: "j"}}, inputLen: 100}
	}
	if !eligible(ok()) {
		t.Fatal("a plain attempt is not eligible")
	}
	for name, set := range map[string]func(*attempt){
		"ssh":       func(a *attempt) { a.ssh = true },
		"debug-ssh": func(a *attempt) { a.job.Desc.Debug = messages.DebugSSH },
		"debug":     func(a *attempt) { a.job.Desc.Debug = messages.DebugOn },
		"network":   func(a *attempt) { a.job.Desc.EnvironmentParameters.NetworkGrading = true },
		"common":    func(a *attempt) { a.commonLen = 4096 },
		"big-input": func(a *attempt) { a.inputLen = inputRoomBytes + 1 },
	} {
		a := ok()
		set(a)
		if eligible(a) {
			t.Errorf("%s: eligible for the pool", name)
		}
	}
}

// TestPool_FollowsTheLimitsJobsAsk: a pool made for limits no job asks
// is remade, after shapeFollowAfter jobs in a row of one task's other
// limits, for those: the next such job is handed a warm container, with
// the memory limit a cold start gives it. One job of other limits alone
// (TestPool_Bypass) or two shapes taking turns leave the pool as it is.
// Before, every job of a task whose limits were not the agent's defaults
// started cold, while the pool's containers waited for ever.
func TestPool_FollowsTheLimitsJobsAsk(t *testing.T) {
	t.Parallel()
	env := privateEnv(t)
	r := newPoolRuntime(t, Options{}, env, messages.Limits{})
	b := task(t, map[string]string{"run": "#!/bin/sh\nfeedback-result success\n"})
	base := newJob(r, b, nil)
	r.pool.setShape(base.Limits)
	job := func(memory int64) *containers.Job {
		j := newJob(r, b, nil)
		j.Desc.Environment = env
		j.Limits.Memory = memory
		return j
	}
	first := waitIdle(t, r)
	// Two shapes taking turns: no change.
	for _, m := range []int64{96, 112, 96, 112} {
		if res, _ := runJobCold(t, r, job(m)); res.Result.Status != messages.StatusSuccess {
			t.Fatalf("job of %d MiB: %+v", m, res.Result)
		}
	}
	if s := r.PoolStats(); s.Reshaped != 0 || s.Hits != 0 || waitIdle(t, r) != first {
		t.Fatalf("jobs of two shapes taking turns changed the pool: %+v", s)
	}
	for range shapeFollowAfter {
		if res, _ := runJobCold(t, r, job(96)); res.Result.Status != messages.StatusSuccess {
			t.Fatalf("job of 96 MiB: %+v", res.Result)
		}
	}
	if s := r.PoolStats(); s.Reshaped != 1 || s.Hits != 0 {
		t.Fatalf("after %d jobs in a row of 96 MiB: %+v", shapeFollowAfter, s)
	}
	id := waitIdle(t, r)
	if id == first {
		t.Fatal("the container made for the old limits is still idle")
	}
	ins, err := r.api.ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if cold := gradingMemory(job(96).Limits); ins.HostConfig.Memory != cold {
		t.Errorf("warm container's memory %d, a cold start's %d", ins.HostConfig.Memory, cold)
	}
	if res := runWarm(t, r, job(96)); res.Result.Status != messages.StatusSuccess {
		t.Errorf("warm job of 96 MiB: %+v", res.Result)
	}
	// Another run of three at once after a change does not change it
	// again (runs of three taking turns would remake the pool every
	// third job); once shapeFollowEvery passed, it does.
	for range shapeFollowAfter {
		runJobCold(t, r, job(112))
	}
	if s := r.PoolStats(); s.Reshaped != 1 {
		t.Fatalf("a second change within %v: %+v", shapeFollowEvery, s)
	}
	r.pool.mu.Lock()
	r.pool.reshaped = time.Now().Add(-shapeFollowEvery)
	r.pool.mu.Unlock()
	runJobCold(t, r, job(112))
	if s := r.PoolStats(); s.Reshaped != 2 {
		t.Fatalf("no change %v after the last: %+v", shapeFollowEvery, s)
	}
}
