package bridge

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/messages"
)

// slowRuntime runs every job after a pause longer than a webapp stays
// alive to the bridge without a word (aliveFor).
type slowRuntime struct{ *fake.Runtime }

func (s slowRuntime) Run(ctx context.Context, job *containers.Job, ev containers.Events) (messages.JobResult, error) {
	select {
	case <-time.After(aliveFor + 2*time.Second):
	case <-ctx.Done():
		return messages.JobResult{}, context.Cause(ctx)
	}
	return s.Runtime.Run(ctx, job, ev)
}

// TestExampleClient_SlowJob: examples/inginious-client.py gets the result
// of a job that takes longer than aliveFor (5 s), as a job waiting behind a
// deadline's queue does. Before, the script never pinged, so the bridge
// took it for gone once its job had run 5 s, and held the result for a
// live webapp: the script waited 120 s and failed with "no answer".
func TestExampleClient_SlowJob(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import zmq, msgpack").Run(); err != nil {
		if os.Getenv("INGO_REQUIRE_DOCKER") == "1" {
			t.Fatalf("python3-zmq and python3-msgpack are needed (apt-get install python3-zmq python3-msgpack): %v", err)
		}
		t.Skipf("no python3-zmq / python3-msgpack: %v", err)
	}
	t.Parallel()
	r := newRigWith(t, 1, 1, func() containers.Runtime {
		return slowRuntime{fake.New(fake.Options{Environments: map[string][]string{"docker": {"default"}}})}
	}, false)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	script := filepath.Join("..", "..", "examples", "inginious-client.py")
	out, err := exec.CommandContext(ctx, py, script, r.endpoint, "algo", "sort", "q=1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"success"`) {
		t.Fatalf("inginious-client.py on a job of %v: %v\n%s", aliveFor+2*time.Second, err, out)
	}
}
