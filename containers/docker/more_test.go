package docker

import (
	"context"
	"crypto/rand"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

func TestRun_PythonRunFile(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	run := `#!/usr/bin/env python3
import subprocess
name = subprocess.check_output(["getinput", "q1"]).decode()
subprocess.run(["feedback-result", "success"], check=True)
subprocess.run(["feedback-grade", str(len(name))], check=True)
subprocess.run(["feedback-msg", "-m", "hi " + name], check=True)
`
	res, _ := runJob(t, r, newJob(r, task(t, map[string]string{"run.py": run}), map[string]any{"q1": "Bobby"}))
	if res.Result.Status != messages.StatusSuccess || res.Grade != 5 || res.Result.Text != "hi Bobby" {
		t.Errorf("result = %+v grade %v, want success 5 \"hi Bobby\"", res.Result, res.Grade)
	}
}

func TestRun_CTaskWithGCC(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	run := `#!/bin/bash
getinput q1 > student/main.c
if ! gcc -O1 -Wall -o student/prog student/main.c 2> student/cc.err; then
	feedback-result failed
	feedback-msg -m "Compilation failed"
	exit 0
fi
tag-set compiled true
ok=0
for t in "2 3:5" "10 -4:6" "0 0:0"; do
	out=$(./student/prog ${t%%:*})
	[ "$out" = "${t##*:}" ] && ok=$((ok+1))
done
feedback-grade $(( ok * 100 / 3 ))
if [ $ok = 3 ]; then feedback-result success; else feedback-result failed; fi
feedback-msg -m "$ok/3 tests passed"
`
	src := "#include <stdio.h>\n#include <stdlib.h>\nint main(int c, char **v) { printf(\"%d\\n\", atoi(v[1]) + atoi(v[2])); return 0; }\n"
	input := map[string]any{"q1": map[string]any{"filename": "main.c", "value": []byte(src)}}
	res, d := runJob(t, r, newJob(r, task(t, map[string]string{"run": run}), input))
	if res.Result.Status != messages.StatusSuccess || res.Grade != 100 || res.Result.Text != "3/3 tests passed" || res.Tests["compiled"] != true {
		t.Errorf("result = %+v grade %v tests %v", res.Result, res.Grade, res.Tests)
	}
	t.Logf("C task graded in %v", d)
}

func TestRun_NoNetworkButLoopback(t *testing.T) {
	t.Parallel()
	run := "#!/bin/bash\nfeedback-result success\nfeedback-msg -m \"$(ls /sys/class/net | tr '\\n' ' ')\"\n"
	b := task(t, map[string]string{"run": run})
	runModes(t, func(r *Runtime) *containers.Job { return newJob(r, b, nil) }, func(t *testing.T, res messages.JobResult) {
		if strings.TrimSpace(res.Result.Text) != "lo" {
			t.Errorf("interfaces = %q, want only lo", res.Result.Text)
		}
	})
}

func TestRun_NetworkGradingReachesTestServer(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	name := "ingo-test-net-" + strings.ToLower(rand.Text()[:6])
	cli := rawClient(t)
	ctx := t.Context()
	// An internal network: no route outside this machine.
	if _, err := cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Internal: true}); err != nil {
		t.Fatalf("NetworkCreate: %v", err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), name) })
	srv, err := cli.ContainerCreate(ctx, &container.Config{
		Image: "ingo/env-default", Entrypoint: []string{"python3", "-m", "http.server", "8000", "-d", "/etc"},
	}, &container.HostConfig{NetworkMode: container.NetworkMode(name), AutoRemove: false}, nil, (*ocispec.Platform)(nil), name+"-server")
	if err != nil {
		t.Fatalf("create server: %v", err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), srv.ID, container.RemoveOptions{Force: true})
	})
	if err := cli.ContainerStart(ctx, srv.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start server: %v", err)
	}
	r := newTestRuntime(t, Options{Network: name})
	run := `#!/usr/bin/env python3
import subprocess, time, urllib.request
for i in range(50):
    try:
        body = urllib.request.urlopen("http://` + name + `-server:8000/hostname", timeout=2).read().decode()
        break
    except Exception as e:
        body = "error: %s" % e
        time.sleep(0.2)
subprocess.run(["feedback-result", "success"])
subprocess.run(["feedback-msg", "-m", body.strip()])
`
	job := newJob(r, task(t, map[string]string{"run": run}), nil)
	job.Desc.EnvironmentParameters.NetworkGrading = true
	res, _ := runJob(t, r, job)
	if res.Result.Status != messages.StatusSuccess || res.Result.Text != srv.ID[:12] {
		t.Errorf("result = %+v, want success with the server's hostname %s", res.Result, srv.ID[:12])
	}
}

func TestRun_KillWhileRunning(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	job := newJob(r, task(t, map[string]string{"run": "#!/bin/sh\nsleep 1000\n"}), nil)
	ctx, cancel := context.WithCancelCause(t.Context())
	time.AfterFunc(time.Second, func() { cancel(containers.ErrKilled) })
	start := time.Now()
	_, err := r.Run(ctx, job, nil)
	d := time.Since(start)
	if !errors.Is(err, containers.ErrKilled) {
		t.Errorf("Run error = %v, want one wrapping ErrKilled", err)
	}
	// Not a timing: without the kill, Run would last the 1000 s sleep.
	if d > 60*time.Second {
		t.Errorf("Run returned %v after start: the kill did not stop the sleep", d)
	}
	// Idempotent: cancelling again changes nothing.
	cancel(containers.ErrKilled)
	if n := jobContainers(t, job); n != 0 {
		t.Errorf("%d containers of the job left after Run", n)
	}
}

// cancelOnCreate cancels the job while the daemon creates its container,
// and records whether any container was started.
type cancelOnCreate struct {
	dockerAPI
	cancel  func()
	started chan string
}

func (c *cancelOnCreate) ContainerCreate(ctx context.Context, cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig, p *ocispec.Platform, name string) (container.CreateResponse, error) {
	resp, err := c.dockerAPI.ContainerCreate(ctx, cfg, hc, nc, p, name)
	c.cancel()
	return resp, err
}

func (c *cancelOnCreate) ContainerStart(ctx context.Context, id string, o container.StartOptions) error {
	c.started <- id
	return c.dockerAPI.ContainerStart(ctx, id, o)
}

func TestRun_KillWhileCreating(t *testing.T) {
	t.Parallel()
	base := newTestRuntime(t, Options{})
	ctx, cancel := context.WithCancelCause(t.Context())
	api := &cancelOnCreate{dockerAPI: base.api, cancel: func() { cancel(containers.ErrKilled) }, started: make(chan string, 1)}
	opts := base.opts
	opts.Pool = PoolOptions{} // a cold start is what this test cancels
	r := newRuntime(api, opts)
	t.Cleanup(r.shutdown) // not Close: the API client is base's
	job := newJob(r, task(t, map[string]string{"run": "#!/bin/sh\nsleep 1000\n"}), nil)
	_, err := r.Run(ctx, job, nil)
	if !errors.Is(err, containers.ErrKilled) {
		t.Errorf("Run error = %v, want one wrapping ErrKilled", err)
	}
	select {
	case id := <-api.started:
		t.Errorf("container %.12s was started after the kill", id)
	default:
	}
	if n := jobContainers(t, job); n != 0 {
		t.Errorf("%d containers of the job left after Run", n)
	}
}

func TestEnvironments_AndChanges(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	envs, err := r.Environments(t.Context())
	if err != nil {
		t.Fatalf("Environments: %v", err)
	}
	for _, n := range []string{"default", "minimal"} {
		if e, ok := envs["docker"][n]; !ok || !e.Advertised || e.ID == "" || e.Created == 0 {
			t.Errorf("environment docker/%s = %+v, %v", n, e, ok)
		}
	}
	// A hidden environment appears, then goes, and Changes fires each time.
	name := "ingo-test-hidden-" + strings.ToLower(rand.Text()[:6])
	tag := "ingo/test-" + name
	drain(r.Changes())
	build := exec.CommandContext(t.Context(), "docker", "build", "-q", "-t", tag, "-")
	build.Stdin = strings.NewReader("FROM ingo/env-minimal\nLABEL org.inginious.grading.name=" + name + " org.inginious.grading.advertise=false\n")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	waitChange(t, r)
	envs, _ = r.Environments(t.Context())
	if e, ok := envs["docker"][name]; !ok || e.Advertised {
		t.Errorf("hidden environment = %+v, %v; want present, not advertised", e, ok)
	}
	drain(r.Changes())
	if out, err := exec.Command("docker", "rmi", "-f", tag).CombinedOutput(); err != nil {
		t.Fatalf("docker rmi: %v\n%s", err, out)
	}
	waitChange(t, r)
	envs, _ = r.Environments(t.Context())
	if _, ok := envs["docker"][name]; ok {
		t.Errorf("environment %s still listed after its image was removed", name)
	}
}

func drain(c <-chan struct{}) {
	select {
	case <-c:
	default:
	}
}

func waitChange(t *testing.T, r *Runtime) {
	t.Helper()
	select {
	case <-r.Changes():
	case <-time.After(10 * time.Second):
		t.Fatal("Changes did not fire within 10 s")
	}
}

// jobContainers counts the containers labelled with job's id.
func jobContainers(t *testing.T, job *containers.Job) int {
	t.Helper()
	list, err := rawClient(t).ContainerList(context.Background(), container.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("label", LabelJob+"="+job.ID())),
	})
	if err != nil {
		t.Fatalf("ContainerList: %v", err)
	}
	return len(list)
}

// TestRun_KillAtAnyMoment cancels real attempts at spread-out moments of
// their creation and start: each ends with the kill's cause and leaves no
// container.
func TestRun_KillAtAnyMoment(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	b := task(t, map[string]string{"run": "#!/bin/sh\nsleep 1000\n"})
	for i := range 8 {
		delay := time.Duration(i) * 15 * time.Millisecond
		job := newJob(r, b, nil)
		ctx, cancel := context.WithCancelCause(t.Context())
		time.AfterFunc(delay, func() { cancel(containers.ErrKilled) })
		start := time.Now()
		_, err := r.Run(ctx, job, nil)
		if !errors.Is(err, containers.ErrKilled) {
			t.Errorf("kill after %v: Run error = %v, want one wrapping ErrKilled", delay, err)
		}
		if d := time.Since(start); d > 60*time.Second { // the sleep lasts 1000 s
			t.Errorf("kill after %v: Run took %v: the kill did not stop it", delay, d)
		}
		if n := jobContainers(t, job); n != 0 {
			t.Errorf("kill after %v: %d containers left", delay, n)
		}
	}
}
