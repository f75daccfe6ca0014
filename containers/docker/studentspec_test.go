package docker

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/channel"
	"github.com/ingo-grader/ingo/containers/helper/contract"
	"github.com/ingo-grader/ingo/messages"
)

// createCapture is a fake that keeps the config of the container created.
type createCapture struct {
	*fakeAPI
	cfg *container.Config
}

func (f *createCapture) ContainerCreate(_ context.Context, cfg *container.Config, _ *container.HostConfig, _ *network.NetworkingConfig, _ *ocispec.Platform, _ string) (container.CreateResponse, error) {
	f.cfg = cfg
	return container.CreateResponse{ID: "student-1"}, nil
}

// TestCreateStudent_SpecNotOnTheCommandLine: a student container's spec,
// which holds ssh_student's setup and teardown scripts, is in its
// environment, never on its command line: every process of the container,
// the student's SSH session included, reads /proc/1/cmdline (a session
// read the teardown script, and the answer it checks, there).
func TestCreateStudent_SpecNotOnTheCommandLine(t *testing.T) {
	t.Parallel()
	const secret = "grep -q answer-SECRET-1234 /task/student/answer"
	f := &createCapture{fakeAPI: &fakeAPI{events: func(_ int, ctx context.Context) (<-chan events.Message, <-chan error) {
		return make(chan events.Message), make(chan error)
	}}}
	r := newRuntime(f, quiet())
	defer r.Close()
	c := &jobChannel{r: r, job: &containers.Job{
		Desc:   &messages.JobDescription{JobID: "job-spec", EnvironmentType: EnvTypeSSH},
		Limits: messages.Limits{Time: 10, HardTime: 30, Memory: 128, Processes: 128, Output: 1 << 20, Disk: 64},
	}, grading: "grading-1", volume: "ingo-student-x"}
	req := &channel.StudentRequest{SSH: true, SetupScript: secret, TeardownScript: secret}
	if _, err := c.createStudent("image", req, c.studentLimits(req), 0, 1); err != nil {
		t.Fatal(err)
	}
	argv := strings.Join(append(append([]string{}, f.cfg.Entrypoint...), f.cfg.Cmd...), " ")
	if strings.Contains(argv, secret) {
		t.Errorf("the student container's command line holds its teardown script: %s", argv)
	}
	found := false
	for _, kv := range f.cfg.Env {
		if v, ok := strings.CutPrefix(kv, contract.StudentSpecEnv+"="); ok && strings.Contains(v, secret) {
			found = true
		}
	}
	if !found {
		t.Errorf("no %s with the spec in the environment %q", contract.StudentSpecEnv, f.cfg.Env)
	}
	// Without scripts, the argument too: helpers of older images read it.
	plain := &channel.StudentRequest{Argv: []string{"./prog"}}
	if _, err := c.createStudent("image", plain, c.studentLimits(plain), 0, 1); err != nil {
		t.Fatal(err)
	}
	if len(f.cfg.Cmd) != 1 || !strings.Contains(f.cfg.Cmd[0], "./prog") {
		t.Errorf("run_student's command line %q, want its spec for older helpers", f.cfg.Cmd)
	}
}
