package bridge

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPythonWebappClient runs INGInious' side of the protocol with
// Debian's python3-zmq and python3-msgpack (testdata/webapp_client.py):
// hello, environments, a job on a task folder with its started and done
// messages (the result tuple, field order and types), the older
// taskset_id, a queue snapshot, a kill, garbage, ping.
func TestPythonWebappClient(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import zmq, msgpack").Run(); err != nil {
		if os.Getenv("INGO_REQUIRE_DOCKER") == "1" {
			t.Fatalf("python3-zmq and python3-msgpack are needed (apt-get install python3-zmq python3-msgpack): %v", err)
		}
		t.Skipf("no python3-zmq / python3-msgpack: %v", err)
	}
	r := newRig(t)
	out, err := exec.Command(py, "testdata/webapp_client.py", r.endpoint).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("webapp_client.py: %v\n%s", err, out)
	}
}

// TestExampleClient_EnvFlag: examples/inginious-client.py, which the docs
// use to check a bridge by hand, takes `--env NAME` as its usage says, and
// `--env=NAME`. Before, the usage's form made it read NAME as an answer
// and fail with a Python traceback.
func TestExampleClient_EnvFlag(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import zmq, msgpack").Run(); err != nil {
		if os.Getenv("INGO_REQUIRE_DOCKER") == "1" {
			t.Fatalf("python3-zmq and python3-msgpack are needed (apt-get install python3-zmq python3-msgpack): %v", err)
		}
		t.Skipf("no python3-zmq / python3-msgpack: %v", err)
	}
	r := newRig(t)
	script := filepath.Join("..", "..", "examples", "inginious-client.py")
	for _, args := range [][]string{{"--env", "cpp"}, {"--env=cpp"}} {
		cmd := exec.Command(py, append([]string{script, r.endpoint, "algo", "sort", "q=1"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), `"success"`) {
			t.Errorf("inginious-client.py %v: %v\n%s", args, err, out)
		}
	}
}
