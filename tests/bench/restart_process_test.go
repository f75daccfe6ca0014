package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// leaseLines are what the backend logs when it stops being the active
// backend: none may appear after a restart has served.
var leaseLines = []string{"lost the lease", "standing by again", "no longer the active backend"}

// TestRestartReport is issue 15's "kill -9 and restart serves within 10 s,
// no lease lost" with real processes: an `ingo backend --embedded-nats`
// process (durable, the default) gets N waiting jobs from one frontend
// (1 KiB answer each, 500 students, an environment nobody offers), is
// killed with SIGKILL and started again on the same data dir and port.
// It measures the time from the restart to a new frontend client's first
// queue snapshot with all N waiting, that snapshot, the backend's RSS then,
// and counts lease losses in its log for 30 s after it serves (3 s without
// INGO_BENCH). Then four `ingo agent --runtime noop` processes offer the
// environment and drain the queue: every job must get exactly one result,
// through the new client (the one that submitted them is gone). N:
// INGO_RESTART_JOBS, else 100,000 with INGO_BENCH=1, else 2,000.
// INGO_RESTART_ROUNDS=K kills and restarts it K more times before the
// drain, and with INGO_RESTART_OTHER=BINARY (another build of ingo) each
// of those rounds restarts that build first, then this one: two builds'
// restarts compared on the same queue, the machine's speed of the moment
// shared. INGO_RESTART_LOGS=DIR keeps each round's log there, and the
// log of the backend that drained the queue (drained.log).
func TestRestartReport(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("no go command to build ingo with: %v", err)
	}
	jobs, watch := 2000, 3*time.Second
	if os.Getenv("INGO_BENCH") != "" {
		jobs, watch = 100_000, 30*time.Second
	}
	if n, err := strconv.Atoi(os.Getenv("INGO_RESTART_JOBS")); err == nil && n > 0 {
		jobs = n
	}
	bin := testutil.IngoBinary(t)
	home := t.TempDir()
	dataDir := filepath.Join(home, "data", "ingo")
	url := fmt.Sprintf("nats://127.0.0.1:%d", testutil.FreePort(t))
	be := testutil.StartProcess(t, "backend", bin, processEnv(home),
		"backend", "--embedded-nats", "--nats-url", url, "--data-dir", dataDir)
	defer func() {
		// A big queue's last compaction takes a while.
		if err := be.Stop(2 * time.Minute); err != nil {
			t.Errorf("backend: %v", err)
		}
	}()
	testutil.Eventually(t, 60*time.Second, func() bool {
		if be.Exited() {
			t.Fatalf("ingo backend exited: %v\n%s", be.Err(), be.Output())
		}
		_, err := os.Stat(filepath.Join(dataDir, natsauth.AdminCredsFile))
		return err == nil
	}, "ingo backend wrote %s", natsauth.AdminCredsFile)
	keys, err := natsauth.Load(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	front, err := keys.Mint(natsauth.RoleFrontend, "bench", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// client connects a frontend and waits until the backend answers its
	// hello (the NATS connection retries while the server is down).
	var (
		resultsMu sync.Mutex
		results   = map[string]int{}
		notGraded []string
	)
	onResult := func(d *messages.BackendJobDone) error {
		resultsMu.Lock()
		defer resultsMu.Unlock()
		results[d.JobID]++
		if d.Result.Status != messages.StatusSuccess && len(notGraded) < 5 {
			notGraded = append(notGraded, d.JobID+": "+string(d.Result.Status)+" "+d.Result.Text)
		}
		return nil
	}
	client := func(name string, ping time.Duration) *frontendclient.Client {
		cl, err := frontendclient.New(ctx, connectAs(t, url, name, front),
			frontendclient.Options{Name: "bench", ClientID: "bench", RequestTimeout: 5 * time.Minute, PingInterval: ping,
				OnResult: onResult})
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := cl.WaitReady(wctx); err != nil {
			t.Fatalf("%s never saw the backend: %v\n%s", name, err, be.Output())
		}
		return cl
	}

	// The deadline: N jobs waiting for an environment nobody offers.
	cl := client("filler", 0)
	answer := strings.Repeat("x", 1024)
	var next atomic.Int64
	fillStart := time.Now()
	closedLoop(jobs, procInFlight, func() {
		i := next.Add(1) - 1
		req := sampleJob(fmt.Sprintf("r%07d", i))
		req.InputData = map[string]any{"q1": answer, "@username": fmt.Sprintf("s%d", i%500), "@lang": "en"}
		req.CourseID = fmt.Sprintf("course%d", i%4)
		req.WaitForEnvironment = true // no agent yet: they wait
		jctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		if _, err := cl.NewJob(jctx, req); err != nil {
			t.Errorf("submit %s: %v", req.JobID, err)
		}
	})
	fill := time.Since(fillStart)
	if t.Failed() {
		t.FailNow()
	}
	q, err := cl.Queue(ctx)
	if err != nil || q.Summary == nil || q.Summary.Waiting != jobs {
		t.Fatalf("before the kill: %v, summary %+v, want %d waiting", err, summary(q), jobs)
	}
	rssBefore := procRSS(be.Pid())
	cl.Close()

	// kill -9, and the same command again.
	be.Kill()
	start := time.Now()
	be.Restart()
	// Its hello is retried at each ping: every 100 ms rather than every
	// second, so that the client is ready within 0.1 s of the backend.
	cl = client("after-restart", 100*time.Millisecond)
	defer cl.Close()
	ready := time.Since(start)
	// The backend answers the hello only once it has replayed the
	// journal: the first snapshot has all the jobs it will ever have.
	snapStart := time.Now()
	q, err = cl.Queue(ctx)
	snap := time.Since(snapStart)
	if err != nil {
		t.Fatalf("queue after the restart: %v", err)
	}
	waiting := 0
	if q.Summary != nil {
		waiting = q.Summary.Waiting
	}
	if waiting != jobs {
		t.Errorf("after the restart %d jobs wait, want %d: %d acknowledged jobs lost", waiting, jobs, jobs-waiting)
	}
	serving := time.Since(start)
	rss := procRSS(be.Pid())

	// No lease lost while it serves.
	select {
	case <-be.Done():
		t.Fatalf("the restarted backend exited: %v", be.Err())
	case <-time.After(watch):
	}
	// What it keeps while it serves, once the replay's garbage is gone
	// (the first figure is taken as it starts serving).
	rssSettled := procRSS(be.Pid())
	logServing, leaseWait, lost, timeline := restartLog(be.Output(), start)
	if len(lost) > 0 {
		t.Errorf("%d lease loss lines after the restart:\n%s", len(lost), strings.Join(lost, "\n"))
	}

	rounds := restartRounds(t, be, bin)

	// The drain: agents arrive, every job runs once and its result reaches
	// the client that is there now.
	drainStart := time.Now()
	for i := range 4 {
		id := fmt.Sprintf("a%d", i+1)
		a := testutil.StartProcess(t, id, bin, processEnv(home), "agent", "--runtime", "noop",
			"--concurrency", "16", "--nats-url", url, "--set", "agent.id="+id, "--name", id)
		defer func() {
			if err := a.Stop(10 * time.Second); err != nil {
				t.Errorf("agent %s: %v", a.Name(), err)
			}
		}()
	}
	got := func() int {
		resultsMu.Lock()
		defer resultsMu.Unlock()
		return len(results)
	}
	testutil.Eventually(t, 2*time.Minute+time.Duration(jobs)*time.Millisecond, func() bool { return got() == jobs },
		"the queue was not drained")
	drain := time.Since(drainStart)
	rssDrained := procRSS(be.Pid())
	if dir := os.Getenv("INGO_RESTART_LOGS"); dir != "" { // the backend that drained the queue
		if err := os.WriteFile(filepath.Join(dir, "drained.log"), []byte(be.Output()), 0o644); err != nil {
			t.Error(err)
		}
	}
	cl.Close() // nothing more may arrive: count
	resultsMu.Lock()
	twice := 0
	for _, n := range results {
		if n != 1 {
			twice++
		}
	}
	if twice > 0 || len(notGraded) > 0 {
		t.Errorf("%d jobs had more than one result; not success: %v", twice, notGraded)
	}
	resultsMu.Unlock()

	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	row := func(name, format string, args ...any) string {
		return fmt.Sprintf("  %-42s: "+format+"\n", append([]any{name}, args...)...)
	}
	report := fmt.Sprintf("ingo restart report (process; %d waiting jobs, 1 KiB answer each, 500 students, durable)\n", jobs) +
		row(fmt.Sprintf("fill through one frontend (%d in flight)", procInFlight), "%v (%.0f jobs/s)", ms(fill), float64(jobs)/fill.Seconds()) +
		row("restart until its log says serving", "%v (of which the dead one's lease: %s)", ms(logServing), leaseWait) +
		row("its log, in s after the restart", "%s", timeline) +
		row("restart until a new client is ready", "%v", ms(ready)) +
		row("restart until the first snapshot answers", "%v (%d waiting)", ms(serving), waiting) +
		row("that first queue snapshot", "%v", ms(snap)) +
		row(fmt.Sprintf("lease losses in the %v after serving", watch), "%d", len(lost)) +
		row("backend RSS (VmRSS) before kill / serving", "%d MiB / %d MiB", rssBefore>>20, rss>>20) +
		row(fmt.Sprintf("backend RSS (VmRSS) %v after serving", watch), "%d MiB", rssSettled>>20) +
		row("drain by 4 noop agents x 16 slots", "%v (%.0f jobs/s); %d results, %d jobs with more than one", ms(drain), float64(jobs)/drain.Seconds(), got(), twice) +
		row("backend RSS (VmRSS) drained", "%d MiB", rssDrained>>20) +
		rounds +
		"  reproduce: INGO_BENCH=1 go test -count=1 -run TestRestartReport -v -timeout 20m ./tests/bench\n"
	for _, l := range oddLines(be) {
		report += "  log: " + l + "\n"
	}
	t.Log("\n" + report)
	fmt.Fprint(os.Stderr, report)
}

func summary(q *messages.BackendGetQueue) any {
	if q == nil {
		return nil
	}
	return q.Summary
}

// procRSS is process pid's resident set (VmRSS) in bytes, from /proc; 0
// where there is none.
func procRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(rest) // "123456 kB"
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// logTime is the time= of a backend log line (text format); zero if none.
func logTime(line string) time.Time {
	_, v, ok := strings.Cut(line, "time=")
	if !ok {
		return time.Time{}
	}
	at, _ := time.Parse(time.RFC3339Nano, strings.Fields(v)[0])
	return at
}

// restartLog reads, in the output of the backend's run after its last
// restart begun at start, how long it took to log that it serves, how long
// it waited for the lease, the lines saying it lost the lease, and when it
// reached each step of its start (timeline).
func restartLog(out string, start time.Time) (serving time.Duration, leaseWait string, lost []string, timeline string) {
	if i := strings.LastIndex(out, "--- backend: restart"); i >= 0 {
		out = out[i:]
	}
	steps := []struct{ msg, name string }{
		{`msg="connected to NATS"`, "connected"},
		{"preloading the journal", "preload"},
		{`msg="journal preloaded"`, "preloaded"},
		{"acquired the lease", "lease"},
		{`msg="journal caught up`, "caught up"},
		{`msg="journal replayed"`, "replayed"},
		{`msg="backend serving"`, "serving"},
	}
	seen := map[string]bool{}
	leaseWait = "?"
	for _, l := range strings.Split(out, "\n") {
		for _, st := range steps {
			if strings.Contains(l, st.msg) && !seen[st.name] {
				seen[st.name] = true
				timeline += fmt.Sprintf(" %s %.1f", st.name, logTime(l).Sub(start).Seconds())
			}
		}
		if strings.Contains(l, `msg="backend serving"`) && serving == 0 {
			serving = logTime(l).Sub(start)
		}
		if _, w, ok := strings.Cut(l, "acquired the lease"); ok {
			if _, v, ok := strings.Cut(w, "waited="); ok {
				leaseWait = strings.Fields(v)[0]
			}
		}
		for _, s := range leaseLines {
			if strings.Contains(l, s) {
				lost = append(lost, l)
				break
			}
		}
	}
	return serving, leaseWait, lost, strings.TrimSpace(timeline)
}

// restartRounds runs INGO_RESTART_ROUNDS more kill -9 and restarts of be,
// each first with INGO_RESTART_OTHER's build when set, and returns their
// report's rows. Each round waits until the backend serves (its log), then
// one second, so that the kill finds it serving.
func restartRounds(t *testing.T, be *testutil.Process, bin string) string {
	t.Helper()
	n, _ := strconv.Atoi(os.Getenv("INGO_RESTART_ROUNDS"))
	other := os.Getenv("INGO_RESTART_OTHER")
	builds := []string{bin}
	if other != "" {
		builds = []string{other, bin}
	}
	var rows string
	for r := range n {
		for _, b := range builds {
			be.Kill()
			start := time.Now()
			be.RestartWith(b)
			var serving time.Duration
			testutil.Eventually(t, 5*time.Minute, func() bool {
				if be.Exited() {
					t.Fatalf("ingo backend (%s) exited after restart round %d: %v", b, r+1, be.Err())
				}
				serving, _, _, _ = restartLog(be.Output(), start)
				return serving > 0
			}, "round %d: the backend (%s) never served", r+1, b)
			time.Sleep(time.Second)
			serving, wait, lost, timeline := restartLog(be.Output(), start)
			if dir := os.Getenv("INGO_RESTART_LOGS"); dir != "" {
				out := be.Output()
				out = out[strings.LastIndex(out, "--- backend: restart"):]
				name := fmt.Sprintf("round%d-other.log", r+1)
				if b == bin {
					name = fmt.Sprintf("round%d-this.log", r+1)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(out), 0o644); err != nil {
					t.Error(err)
				}
			}
			if len(lost) > 0 {
				t.Errorf("round %d (%s): %d lease loss lines:\n%s", r+1, b, len(lost), strings.Join(lost, "\n"))
			}
			build := "this build"
			if b != bin {
				build = "INGO_RESTART_OTHER"
			}
			rows += fmt.Sprintf("  %-42s: %v (of which the dead one's lease: %s; s after the restart: %s)\n",
				fmt.Sprintf("restart round %d, %s", r+1, build), serving.Round(time.Millisecond), wait, timeline)
		}
	}
	return rows
}
