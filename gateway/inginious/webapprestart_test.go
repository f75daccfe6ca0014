package bridge

import (
	"fmt"
	"testing"
)

// TestBridgeRestartDoesNotAbortTheWebappsJobs: after a bridge restart
// (ingo up --inginious restarted during a deadline), INGInious' client
// reconnects its socket and goes on pinging without a new hello. An
// Unknown would make it abort every job it waits for, each shown to its
// student as crash "Backend unavailable, retry later" while ingo still
// grades them; the bridge lost none of them, so it takes the webapp as
// having said hello, and the result of the job that ran across the
// restart reaches the webapp.
func TestBridgeRestartDoesNotAbortTheWebappsJobs(t *testing.T) {
	r := newRig(t)
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	c.recv()
	const id = "99999999-9999-9999-9999-999999999999"
	c.send("ClientNewJob", newJobFields(id, "algo", map[string]any{"sleep": "2s", "text": "across"}))
	c.recv("BackendUpdateEnvironments") // started
	r.stopBridge()
	r2 := r.startBridge(t)
	c2 := r2.dial(t) // the webapp's socket, reconnected: no hello
	c2.send("Ping", nil)
	if m := c2.recv(); m["@type"] == "Unknown" {
		t.Fatalf("the bridge answered the webapp's first ping after its restart with Unknown: INGInious' client aborts every job on it")
	}
	c2.pingEverySecond()
	for {
		m := c2.recv("BackendUpdateEnvironments", "Pong")
		if m["@type"] == "Unknown" {
			t.Fatalf("Unknown after the restart: %v", m)
		}
		if m["@type"] == "BackendJobDone" {
			if m["job_id"] != id || fmt.Sprint(m["result"]) != "[success across]" {
				t.Fatalf("after the bridge restarted: %v", m)
			}
			return
		}
	}
}
