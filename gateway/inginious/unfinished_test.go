package bridge

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestBridgeBoundsUnfinishedJobs: a webapp that sends jobs faster than
// they run is refused past Options.MaxUnfinishedBytes, at once and saying
// so, and is served again once its jobs end. Without the bound the jobs
// piled up in the memory of the bridge, the backend and NATS.
func TestBridgeBoundsUnfinishedJobs(t *testing.T) {
	r := newRigWith(t, 1, 1, nil, false)
	r.stopBridge()
	r.bridgeOpts = func(o *Options) { o.MaxUnfinishedBytes = 1 << 20 }
	r.startBridge(t)
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	c.recv()
	big := strings.Repeat("x", 300<<10)
	job := func(i int, sleep string) string {
		id := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		f := newJobFields(id, "algo", map[string]any{"sleep": sleep})
		f["inputdata"].(map[string]any)["q1"] = big
		c.send("ClientNewJob", f)
		return id
	}
	var held []string
	for i := range 3 { // 900 KiB: within the bound
		held = append(held, job(i, "1s"))
	}
	over := job(3, "1s")
	m := c.recv("BackendUpdateEnvironments", "BackendJobStarted")
	res, _ := m["result"].([]any)
	if m["@type"] != "BackendJobDone" || m["job_id"] != over || len(res) != 2 || res[0] != "crash" ||
		!strings.Contains(fmt.Sprint(res[1]), "inginious.max-unfinished-bytes") {
		t.Fatalf("the job over the bound: %.300v", m)
	}
	for range held {
		if m := c.recv("BackendUpdateEnvironments", "BackendJobStarted"); m["@type"] != "BackendJobDone" {
			t.Fatalf("a job within the bound: %.300v", m)
		}
	}
	testutil.Eventually(t, wait, func() bool {
		r.bridge.mu.Lock()
		defer r.bridge.mu.Unlock()
		return r.bridge.unfinished == 0
	}, "the finished jobs' bytes released")
	again := job(4, "0s")
	m = c.recv("BackendUpdateEnvironments", "BackendJobStarted")
	if res, _ := m["result"].([]any); m["job_id"] != again || len(res) != 2 || res[0] != "success" {
		t.Fatalf("a job once the others ended: %.300v", m)
	}
}

// TestBridgeRefusesWhatTheBackendCannotRead: a job the backend would drop
// as malformed (an integer over int64, a string that is not UTF-8) is
// refused by the bridge at once, saying what is wrong. The backend's
// answer names no job: the bridge's client sent it again every second,
// and the webapp heard 10 s later that no backend was running.
func TestBridgeRefusesWhatTheBackendCannotRead(t *testing.T) {
	r := newRig(t)
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	c.recv()
	bad := map[string]func(map[string]any){
		"integer over int64": func(f map[string]any) { f["inputdata"].(map[string]any)["n"] = uint64(1<<64 - 1) },
		"nested bad string": func(f map[string]any) {
			f["inputdata"].(map[string]any)["l"] = []any{map[string]any{"s": "\xff\xfe"}}
		},
		"bad key":      func(f map[string]any) { f["task_problems"] = map[string]any{"\xff": "x"} },
		"bad launcher": func(f map[string]any) { f["launcher"] = "Frontend - \xff" },
		"bad env":      func(f map[string]any) { f["environment"] = "def\xffault" },
	}
	i := 0
	for name, spoil := range bad {
		i++
		id := fmt.Sprintf("99999999-0000-0000-0000-%012d", i)
		f := newJobFields(id, "algo", map[string]any{})
		spoil(f)
		start := time.Now()
		c.send("ClientNewJob", f)
		m := c.recv("BackendUpdateEnvironments")
		res, _ := m["result"].([]any)
		if m["job_id"] != id || len(res) != 2 || res[0] != "crash" || strings.Contains(fmt.Sprint(res[1]), "no answer") {
			t.Errorf("%s: %.300v", name, m)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: answered after %v", name, d)
		}
	}
}
