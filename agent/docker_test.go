package agent

import (
	"crypto/rand"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/containers/docker"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestAgent_Docker_DeadProcessLeftovers: on a real Docker engine, the
// containers a dead process of this agent left (same installation and id,
// another session) go once the backend accepted this process, and not
// before; those of an agent of the same id in another installation stay.
func TestAgent_Docker_DeadProcessLeftovers(t *testing.T) {
	t.Parallel()
	testutil.RequireImage(t, "ingo/env-minimal")
	id := "agent-" + strings.ToLower(rand.Text()[:8])
	inst := "inst-" + id
	create := func(installation, session string) string {
		out, err := exec.Command("docker", "create", "--network", "none",
			"--label", docker.LabelAgent+"="+id, "--label", docker.LabelInstallation+"="+installation,
			"--label", docker.LabelSession+"="+session, "--label", docker.LabelJob+"=j-"+session,
			"--label", docker.LabelAttempt+"=1", "ingo/env-minimal").Output()
		if err != nil {
			t.Fatalf("docker create: %v", err)
		}
		c := strings.TrimSpace(string(out))
		t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", c).Run() })
		return c
	}
	exists := func(c string) bool { return exec.Command("docker", "inspect", c).Run() == nil }
	dead, foreign := create(inst, "dead-process"), create(inst+"-b", "its-process")

	drt, err := docker.New(t.Context(), docker.Options{AgentID: id, Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	rt := &recordingRuntime{Runtime: drt}
	e := start(t, options{runtime: rt, unaccepted: true,
		cfg: Config{ID: id, Installation: inst, CleanupInterval: 10 * time.Millisecond}})
	if req := rt.after(t); req.Others || !exists(dead) || !exists(foreign) {
		t.Fatalf("before the backend accepted the agent: request %+v, dead process's container exists %v, other installation's %v",
			req, exists(dead), exists(foreign))
	}
	e.backend.toAgent(id, &messages.Ack{Session: e.hello.Session})
	testutil.Eventually(t, wait, func() bool { return !exists(dead) }, "the dead process's container stayed")
	if rt.after(t); !exists(foreign) {
		t.Errorf("the container of the agent of the same id in another installation was removed")
	}
}
