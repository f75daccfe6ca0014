package bridge

import (
	"testing"
)

// TestBridgeDebugOutput: a webapp that asks for debug gets the grader's
// stdout and stderr in BackendJobDone, strings even when empty; without
// debug it gets None, as from INGInious' backend.
func TestBridgeDebugOutput(t *testing.T) {
	r := newRig(t)
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	output := map[string]any{"stdout": "compiling\nok\n", "stderr": "warning: x\n"}
	cases := []struct {
		id                   string
		debug                any
		fake                 map[string]any
		wantStdout, wantErrs any
	}{
		{"d0000000-0000-0000-0000-000000000001", true, output, "compiling\nok\n", "warning: x\n"},
		{"d0000000-0000-0000-0000-000000000002", true, map[string]any{}, "", ""},
		{"d0000000-0000-0000-0000-000000000003", false, output, nil, nil},
		// INGInious' SSH debug returns the output too.
		{"d0000000-0000-0000-0000-000000000004", "ssh", output, "compiling\nok\n", "warning: x\n"},
	}
	for _, tc := range cases {
		fields := newJobFields(tc.id, "algo", tc.fake)
		fields["debug"] = tc.debug
		c.send("ClientNewJob", fields)
		var done map[string]any
		for done == nil {
			m := c.recv("BackendUpdateEnvironments", "BackendJobStarted", "BackendJobSSHDebug")
			if m["@type"] == "BackendJobDone" && m["job_id"] == tc.id {
				done = m
			}
		}
		if done["result"].([]any)[0] != "success" {
			t.Errorf("debug %v: result %v", tc.debug, done["result"])
		}
		if done["stdout"] != tc.wantStdout || done["stderr"] != tc.wantErrs {
			t.Errorf("debug %v: stdout %#v, stderr %#v; want %#v, %#v", tc.debug, done["stdout"], done["stderr"], tc.wantStdout, tc.wantErrs)
		}
	}
}
