package bridge

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// boundedWebapp is a rig of one agent of one slot whose bridge bounds
// unfinished jobs at 1 MiB, and a webapp that said hello to it.
func boundedWebapp(t *testing.T) (*rig, *webappClient) {
	r := newRigWith(t, 1, 1, nil, false)
	r.stopBridge()
	r.bridgeOpts = func(o *Options) { o.MaxUnfinishedBytes = 1 << 20 }
	r.startBridge(t)
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	c.recv()
	return r, c
}

// TestBridgeBoundsUnfinishedJobs: a webapp that sends jobs faster than
// they run is refused past Options.MaxUnfinishedBytes, at once and saying
// so, and is served again once its jobs end. Without the bound the jobs
// piled up in the memory of the bridge, the backend and NATS.
func TestBridgeBoundsUnfinishedJobs(t *testing.T) {
	r, c := boundedWebapp(t)
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

// TestBridgeChargesDecodedValues: a job's decoded values count against
// Options.MaxUnfinishedBytes until they are sent, not its frame's bytes
// alone: three bytes of msgpack make a map of one key holding a map, some
// 300 bytes decoded, and a job's goroutine holds them while its task is
// packed; forty frames of 200 KB took a live bridge to 2 GB. Once sent,
// the job counts its bytes again.
func TestBridgeChargesDecodedValues(t *testing.T) {
	r, c := boundedWebapp(t)
	maps := make([]any, 20_000) // 60 KB of msgpack, 6 MB and more decoded
	for i := range maps {
		maps[i] = map[string]any{"": map[string]any{}}
	}
	f := newJobFields("00000000-0000-0000-0000-000000000001", "algo", map[string]any{})
	f["inputdata"].(map[string]any)["@maps"] = maps
	c.send("ClientNewJob", f)
	m := c.recv("BackendUpdateEnvironments", "BackendJobStarted")
	if res, _ := m["result"].([]any); m["@type"] != "BackendJobDone" || len(res) != 2 || res[0] != "crash" ||
		!strings.Contains(fmt.Sprint(res[1]), "inginious.max-unfinished-bytes") {
		t.Fatalf("a job of 6 MB decoded within a bound of 1 MiB: %.300s", fmt.Sprint(m))
	}
	f = newJobFields("00000000-0000-0000-0000-000000000002", "algo", map[string]any{"sleep": "2s"})
	f["inputdata"].(map[string]any)["@maps"] = maps[:1000]
	c.send("ClientNewJob", f)
	if m := c.recv("BackendUpdateEnvironments"); m["@type"] != "BackendJobStarted" {
		t.Fatalf("a job within the bound: %.300v", m)
	}
	r.bridge.mu.Lock()
	held := r.bridge.unfinished
	r.bridge.mu.Unlock()
	if held > 64<<10 {
		t.Errorf("a running job holds %d bytes of the bound, not its message's", held)
	}
	if m := c.recv("BackendUpdateEnvironments", "BackendJobStarted"); m["@type"] != "BackendJobDone" {
		t.Fatalf("the job within the bound: %.300v", m)
	}
}
