package docker

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/volume"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// TestCleanup_LabelRule: of the resources labelled with the runtime's agent
// id, Cleanup removes this session's whose attempt Keep rejects, and other
// sessions' of the same installation only when the request allows them;
// never another installation's, another agent id's, or those of an ingo
// without session labels.
func TestCleanup_LabelRule(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	cli := rawClient(t)
	ctx := t.Context()
	inst := "inst-" + strings.ToLower(rand.Text()[:8])
	type resource struct {
		name                         string
		agent, installation, session string
		job                          string
		// gone: removed by the first Cleanup (Others false), then also by
		// the second (Others true).
		first, second bool
	}
	resources := []resource{
		{"own session, kept", r.opts.AgentID, inst, "s1", "keep-me", false, false},
		{"own session, not running", r.opts.AgentID, inst, "s1", "done", true, true},
		{"dead session", r.opts.AgentID, inst, "s0", "dead", false, true},
		{"another installation, same session", r.opts.AgentID, inst + "-b", "s1", "theirs", false, false},
		{"another installation", r.opts.AgentID, inst + "-b", "s9", "theirs2", false, false},
		{"another agent id", r.opts.AgentID + "-b", inst, "s0", "other-agent", false, false},
		{"no installation", r.opts.AgentID, "", "s0", "no-inst", false, false},
		{"older ingo: no session", r.opts.AgentID, inst, "", "old", false, false},
	}
	containerOf, volumeOf := map[string]string{}, map[string]string{}
	for _, res := range resources {
		labels := map[string]string{LabelAgent: res.agent, LabelJob: res.job, LabelAttempt: "2"}
		if res.installation != "" {
			labels[LabelInstallation] = res.installation
		}
		if res.session != "" {
			labels[LabelSession] = res.session
		}
		c, err := cli.ContainerCreate(ctx, &container.Config{Image: "ingo/env-minimal", Labels: labels},
			&container.HostConfig{NetworkMode: "none"}, nil, nil, "")
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		v, err := cli.VolumeCreate(ctx, volume.CreateOptions{Labels: labels})
		if err != nil {
			t.Fatalf("create volume: %v", err)
		}
		t.Cleanup(func() {
			_ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
			_ = cli.VolumeRemove(context.Background(), v.Name, true)
		})
		containerOf[res.name], volumeOf[res.name] = c.ID, v.Name
	}
	check := func(step string, gone func(resource) bool) {
		t.Helper()
		for _, res := range resources {
			_, cerr := cli.ContainerInspect(ctx, containerOf[res.name])
			_, verr := cli.VolumeInspect(ctx, volumeOf[res.name])
			if want := !gone(res); (cerr == nil) != want || (verr == nil) != want {
				t.Errorf("%s: %s: container exists %v, volume exists %v; want %v", step, res.name, cerr == nil, verr == nil, want)
			}
		}
	}

	req := containers.CleanupRequest{Installation: inst, Session: "s1",
		Keep: func(a messages.JobAttempt) bool { return a == messages.JobAttempt{JobID: "keep-me", Attempt: 2} }}
	removed, err := r.Cleanup(ctx, req)
	if err != nil || len(removed) != 1 || removed[0] != (messages.JobAttempt{JobID: "done", Attempt: 2}) {
		t.Errorf("Cleanup = %v, %v; want [done/2]", removed, err)
	}
	check("this session only", func(res resource) bool { return res.first })

	req.Others = true
	removed, err = r.Cleanup(ctx, req)
	if err != nil || len(removed) != 1 || removed[0] != (messages.JobAttempt{JobID: "dead", Attempt: 2}) {
		t.Errorf("Cleanup with other sessions = %v, %v; want [dead/2]", removed, err)
	}
	check("other sessions too", func(res resource) bool { return res.second })
	if again, err := r.Cleanup(ctx, req); err != nil || len(again) != 0 {
		t.Errorf("third Cleanup = %v, %v", again, err)
	}
}

// TestCleanup_TwoInstallationsSideBySide: two installations each run an
// agent with the same id (the host name, say) on one Docker host. Each
// cleans up as often as it can, as a registered agent would, while both
// run jobs with student containers and volumes: no job loses a container
// to the other's cleanup.
func TestCleanup_TwoInstallationsSideBySide(t *testing.T) {
	t.Parallel()
	id := "test-" + strings.ToLower(rand.Text()[:8])
	b := task(t, map[string]string{"run": "#!/bin/sh\nrun_student sh -c 'sleep 1' || exit 1\nfeedback-result success\n"})
	const jobs = 3
	var wg sync.WaitGroup
	for _, inst := range []string{"inst-a-" + id, "inst-b-" + id} {
		r := newTestRuntime(t, Options{AgentID: id})
		session := "session-of-" + inst
		var mu sync.Mutex
		running := map[messages.JobAttempt]bool{}
		done := make(chan struct{})
		var jobsWG sync.WaitGroup
		for range jobs {
			job := newJob(r, b, nil)
			job.Installation, job.Session = inst, session
			mu.Lock()
			running[job.Ref()] = true
			mu.Unlock()
			jobsWG.Go(func() {
				res, err := r.Run(t.Context(), job, nil)
				if err != nil || res.Result.Status != messages.StatusSuccess {
					t.Errorf("%s: job %s: %s %q, %v", inst, job.ID(), res.Result.Status, res.Result.Text, err)
				}
				mu.Lock()
				delete(running, job.Ref())
				mu.Unlock()
			})
		}
		wg.Go(func() {
			jobsWG.Wait()
			close(done)
		})
		wg.Go(func() {
			req := containers.CleanupRequest{Installation: inst, Session: session, Others: true,
				Keep: func(a messages.JobAttempt) bool { mu.Lock(); defer mu.Unlock(); return running[a] }}
			for n := 0; ; n++ {
				select {
				case <-done:
					if n < 2 {
						t.Errorf("%s: only %d cleanups while the jobs ran", inst, n)
					}
					return
				default:
				}
				if removed, err := r.Cleanup(t.Context(), req); err != nil || len(removed) > 0 {
					t.Errorf("%s: Cleanup removed %v, %v while every attempt of its own runs", inst, removed, err)
				}
			}
		})
	}
	wg.Wait()
}
