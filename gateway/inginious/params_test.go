package bridge

import (
	"fmt"
	"strings"
	"testing"
)

// TestBridgeTaskYAMLForms: a ClientNewJob whose environment_parameters are
// in the forms of real INGInious task.yaml files (time '30', hard_time ”,
// memory '100', network_grading 'on' and the editor's legacy output '2',
// see internal/taskfile) is graded, with hard_time left to the agent
// (3 × time) and the agent's own output bound, not 2 bytes; a value ingo
// cannot read is a crash that names the key.
func TestBridgeTaskYAMLForms(t *testing.T) {
	r := newRig(t)
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	c.recv()

	fields := newJobFields("aaaaaaaa-1111-1111-1111-111111111111", "algo", map[string]any{"text": "All tests passed."})
	fields["environment_parameters"] = map[string]any{
		"limits":          map[string]any{"time": "30", "hard_time": "", "memory": "100", "output": "2"},
		"network_grading": "on", "run_cmd": "",
	}
	c.send("ClientNewJob", fields)
	done := c.recv("BackendUpdateEnvironments", "BackendJobStarted")
	if done["@type"] != "BackendJobDone" || fmt.Sprint(done["result"]) != "[success All tests passed.]" {
		t.Fatalf("done: %v", done)
	}
	echo, _ := done["custom"].(map[string]any)["echo"].(map[string]any)
	limits, _ := echo["limits"].(map[string]any)
	if fmt.Sprint(limits["time"], limits["hard_time"], limits["memory"]) != "30 90 100" {
		t.Errorf("limits the job ran with: %v", limits)
	}
	if out := fmt.Sprint(limits["output"]); out == "2" || out == "0" {
		t.Errorf("output bound %s, want the agent's default", out)
	}

	fields = newJobFields("aaaaaaaa-2222-2222-2222-222222222222", "algo", map[string]any{})
	fields["environment_parameters"] = map[string]any{"limits": map[string]any{"time": "thirty"}}
	c.send("ClientNewJob", fields)
	m := c.recv("BackendUpdateEnvironments")
	res, _ := m["result"].([]any)
	if m["@type"] != "BackendJobDone" || len(res) != 2 || res[0] != "crash" ||
		!strings.Contains(fmt.Sprint(res[1]), `environment_parameters.limits.time: "thirty" is not a number; INGInious would`) {
		t.Fatalf("unreadable limit: %v", m)
	}
}
