package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/config"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestCommands_EndToEnd runs `ingo backend --embedded-nats`, `ingo agent
// --runtime noop` and the client commands in this process, the way the
// README tells people to run them in three shells.
func TestCommands_EndToEnd(t *testing.T) {
	client := startSystem(t, "--runtime", "noop", "--concurrency", "2")
	awaitDefault(t, client)

	res, errOut := submitHello(t, client)
	if res.Status != "success" || res.JobID == "" {
		t.Errorf("result %+v, want success", res)
	}
	// stderr is not a terminal here: no progress lines, a clean log.
	for _, w := range []string{"queued", "started", "done"} {
		if strings.Contains(errOut, w) {
			t.Errorf("progress on stderr that is not a terminal (%q): %q", w, errOut)
		}
	}

	code, out, errOut := client("agents", "--json")
	if code != exitOK || !strings.Contains(out, `"name": "e2e"`) {
		t.Errorf("agents --json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = client("queue")
	if code != exitOK || !strings.Contains(out, "running: 0") {
		t.Errorf("queue: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = client("queue", "--all", "--json", "--limit", "1")
	if code != exitOK || !strings.Contains(out, `"next":null`) {
		t.Errorf("queue --all --json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = client("kill", "no-such-job")
	if code != exitFailure || !strings.Contains(errOut, "no-such-job") {
		t.Errorf("kill of an unknown job: exit %d, stderr %q", code, errOut)
	}
	code, out, _ = client("submit", filepath.Join("..", "..", "examples", "hello"))
	if code != exitOK || len(strings.TrimSpace(out)) != 36 {
		t.Errorf("submit without --wait: exit %d, want a job id on stdout, got %q", code, out)
	}

	// The job submitted without --wait is found later in the history,
	// after its result was delivered to (and acknowledged by) submit.
	id := strings.TrimSpace(out)
	code, out, errOut = client("result", id, "--wait", "--json")
	var rec struct {
		JobID  string      `json:"job_id"`
		Status string      `json:"status"`
		Agent  string      `json:"agent"`
		Result *resultJSON `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &rec); code != exitOK || err != nil || rec.JobID != id || rec.Status != "success" ||
		rec.Agent == "" || rec.Result == nil || rec.Result.Status != "success" {
		t.Errorf("result %s --wait --json: exit %d, %v, stdout %q, stderr %q", id, code, err, out, errOut)
	}
	code, out, errOut = client("result", id)
	if code != exitOK || !strings.Contains(out, "success") || !strings.Contains(out, "docker/default") {
		t.Errorf("result %s: exit %d, stdout %q, stderr %q", id, code, out, errOut)
	}
	code, out, errOut = client("jobs", "--json", "--status", "success")
	var list []struct {
		JobID string `json:"job_id"`
	}
	if err := json.Unmarshal([]byte(out), &list); code != exitOK || err != nil || len(list) != 2 || list[0].JobID != id {
		t.Errorf("jobs --json: exit %d, %v, stdout %q, stderr %q; want the 2 jobs, %s first", code, err, out, errOut, id)
	}
	// A page of one: the rest is one --cursor away, said on stderr.
	code, out, errOut = client("jobs", "--status", "success", "--limit", "1")
	_, cursor, _ := strings.Cut(errOut, "ingo jobs --cursor ")
	cursor, _, _ = strings.Cut(cursor, " ")
	if code != exitOK || !strings.Contains(out, id) || cursor == "" {
		t.Errorf("jobs --limit 1: exit %d, stdout %q, stderr %q; want %s and the next cursor", code, out, errOut, id)
	} else if code, out, errOut = client("jobs", "--status", "success", "--limit", "1", "--cursor", cursor); code != exitOK ||
		strings.Contains(out, id) || strings.Count(out, "success") != 1 {
		t.Errorf("jobs --cursor %s: exit %d, stdout %q, stderr %q; want the other job only", cursor, code, out, errOut)
	}
	code, out, _ = client("jobs", "--status", "crash")
	if code != exitOK || strings.Contains(out, id) {
		t.Errorf("jobs --status crash: exit %d, stdout %q", code, out)
	}
	code, _, errOut = client("result", "no-such-job")
	if code != exitFailure || !strings.Contains(errOut, "not in the history") {
		t.Errorf("result of an unknown job: exit %d, stderr %q", code, errOut)
	}
}

// Without a history (backend.history off, or no durability) the backend
// grades as before, and ingo result (also with --wait) and ingo jobs fail
// at once, naming the settings that keep one.
func TestCommands_HistoryOff(t *testing.T) {
	for _, tc := range []struct{ set string }{{"backend.history=false"}, {"backend.durable=false"}} {
		t.Run(tc.set, func(t *testing.T) {
			client := startSystemWith(t, []string{"--set", tc.set}, "--runtime", "noop", "--concurrency", "2")
			awaitDefault(t, client)
			code, out, errOut := client("submit", filepath.Join("..", "..", "examples", "hello"), "--wait", "--json")
			var res resultJSON
			if err := json.Unmarshal([]byte(out), &res); code != exitOK || err != nil || res.Status != "success" {
				t.Fatalf("submit --wait --json: exit %d, %v, stdout %q, stderr %q", code, err, out, errOut)
			}
			const want = "nobody serves the job history (is the backend running, with backend.durable and backend.history on?)"
			for _, args := range [][]string{{"result", res.JobID}, {"result", res.JobID, "--wait"}, {"jobs"}} {
				code, out, errOut = client(args...)
				if code != exitFailure || !strings.Contains(errOut, want) {
					t.Errorf("%v: exit %d, stdout %q, stderr %q; want a failure saying %q", args, code, out, errOut, want)
				}
			}
		})
	}
}

// startSystem runs `ingo backend --embedded-nats` and `ingo agent` with
// agentArgs in this process, stopped gracefully when the test ends, and
// returns a runner of client commands against them.
func startSystem(t *testing.T, agentArgs ...string) func(args ...string) (int, string, string) {
	t.Helper()
	return startSystemWith(t, nil, agentArgs...)
}

// awaitDefault waits until the agent of a system offers docker/default:
// it says hello shortly after the backend is up.
func awaitDefault(t *testing.T, client func(args ...string) (int, string, string)) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, func() bool {
		_, out, _ := client("envs", "--json")
		return strings.Contains(out, `"default"`)
	}, "docker/default never offered")
}

// startSystemWith is startSystem with more arguments for the backend.
func startSystemWith(t *testing.T, backendArgs []string, agentArgs ...string) func(args ...string) (int, string, string) {
	t.Helper()
	isolate(t)
	t.Setenv("INGO_LOG_LEVEL", "warn")
	url := "nats://" + freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())

	type exit struct {
		name string
		code int
		log  *syncBuffer
	}
	exits := make(chan exit, 2)
	start := func(name string, args ...string) {
		var out, log syncBuffer
		go func() { exits <- exit{name, run(ctx, args, &out, &log), &log} }()
	}
	// The default data directory (isolated): the agent and the client
	// commands find the keys and admin.creds there, as on a real machine.
	start("backend", append([]string{"backend", "--embedded-nats", "--nats-url", url, "--data-dir", config.DefaultDataDir()}, backendArgs...)...)
	start("agent", append([]string{"agent", "--nats-url", url, "--name", "e2e", "--cache-dir", t.TempDir()}, agentArgs...)...)
	t.Cleanup(func() {
		// The first signal (here: the cancelled context) stops both
		// gracefully, and they exit 0.
		cancel()
		for range 2 {
			select {
			case e := <-exits:
				if e.code != exitOK {
					t.Errorf("%s exited %d after a graceful stop:\n%s", e.name, e.code, e.log)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("backend or agent did not stop within 20s")
				return
			}
		}
	})
	return func(args ...string) (int, string, string) {
		return runCmd(ctx, append(args, "--nats-url", url)...)
	}
}

// TestKill_FinishedJob: killing a job that finished says so, with its
// status, and where its result is, rather than "no such job", which
// sent an operator looking for a typo in the id.
func TestKill_FinishedJob(t *testing.T) {
	client := startSystem(t, "--runtime", "noop", "--concurrency", "2")
	awaitDefault(t, client)
	res, _ := submitHello(t, client)
	testutil.Eventually(t, 10*time.Second, func() bool {
		code, _, _ := client("result", res.JobID)
		return code == exitOK
	}, "the job never reached the history")
	code, _, errOut := client("kill", res.JobID)
	if code != exitFailure || !strings.Contains(errOut, "finished already (success") || !strings.Contains(errOut, "ingo result "+res.JobID) {
		t.Errorf("kill of a finished job: exit %d, stderr %q", code, errOut)
	}
}

// submitHello submits examples/hello with `ingo submit --wait --json` and
// returns its result and what the command wrote on stderr.
func submitHello(t *testing.T, client func(args ...string) (int, string, string)) (resultJSON, string) {
	t.Helper()
	code, out, errOut := client("submit", filepath.Join("..", "..", "examples", "hello"), "-i", "name=Ada", "--wait", "--json")
	if code != exitOK {
		t.Fatalf("submit: exit %d\nstderr: %s", code, errOut)
	}
	var res resultJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("submit --json printed %q: %v", out, err)
	}
	return res, errOut
}
