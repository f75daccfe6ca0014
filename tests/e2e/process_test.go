package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// containers lists the ids of containers with all the labels given.
func containers(t *testing.T, labels ...string) []string {
	t.Helper()
	args := []string{"ps", "-aq"}
	for _, l := range labels {
		args = append(args, "--filter", "label="+l)
	}
	out, err := exec.Command("docker", args...).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

// TestDockerAgentKilledAndRestarted kills an agent process with SIGKILL
// while its container grades: the container outlives it; the restarted
// agent (same id) removes it, the backend re-queues the job, and the job
// is graded by the new process. Nothing is left behind.
func TestDockerAgentKilledAndRestarted(t *testing.T) {
	c := newCluster(t)
	cl := c.client("web")
	testutil.RequireImage(t, gradingImage)
	id := "restarty-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))[:8]
	env := []string{"INGO_NATS_URL=" + c.nats.URL, "INGO_AGENT_ID=" + id, "INGO_AGENT_HEARTBEAT_INTERVAL=100ms",
		"INGO_NATS_CREDS=" + testutil.CredsFile(t, natsauth.RoleAgent, id),
		"INGO_AGENT_CACHE_DIR=" + t.TempDir(), "INGO_AGENT_SLOTS=2", "INGO_LOG_LEVEL=debug",
		// Cold containers carry the job and attempt labels this test follows;
		// the warm pool's leftovers are containers/docker's cleanup tests'.
		"INGO_AGENT_DOCKER_POOL_SIZE=0"}
	t.Cleanup(func() {
		for _, cid := range containers(t, "io.ingo.agent="+id) {
			_ = exec.Command("docker", "rm", "-f", cid).Run()
		}
	})
	// A real process: SIGKILL, not a goroutine pretending to die.
	agentProc := testutil.StartProcess(t, "agent "+id, testutil.IngoBinary(t), env, "agent")
	waitEnvironments(t, cl, "docker/default")

	req := job("survivor", "docker/default", 0, nil)
	req.TaskDir = taskDir(t, "#!/bin/sh\nsleep 3\nfeedback-result success\nfeedback-msg -m graded\n")
	j := submit(t, cl, req)
	deadline := time.Now().Add(wait)
	for len(containers(t, "io.ingo.agent="+id, "io.ingo.attempt=1")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no container for attempt 1")
		}
		time.Sleep(50 * time.Millisecond)
	}
	agentProc.Kill()
	if left := containers(t, "io.ingo.agent="+id, "io.ingo.attempt=1"); len(left) != 1 {
		t.Fatalf("after SIGKILL: %d containers of attempt 1, want the orphan", len(left))
	}

	agentProc.Restart()
	r := result(t, j)
	if r.Result.Status != messages.StatusSuccess || r.Result.Text != "graded" {
		t.Fatalf("result %+v", r.JobResult)
	}
	// The container goes after its result is sent (the job does not wait
	// for the daemon's removal): give the removal its moment.
	testutil.Eventually(t, 10*time.Second, func() bool { return len(containers(t, "io.ingo.agent="+id)) == 0 },
		"no container of agent %s left behind", id)
	if s := c.backend.Stats(); s.Requeued != 1 {
		t.Fatalf("backend %+v: the job should have been re-queued once", s)
	}
}
