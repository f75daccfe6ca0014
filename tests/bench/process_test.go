package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/internal/tlsfiles"
	"github.com/ingo-grader/ingo/messages"
)

// Shape of the process report: what one `ingo backend` and a few
// `ingo agent --runtime noop` processes on one machine would see.
const (
	procAgents   = 4
	procSlots    = 16
	procInFlight = 256
)

// TestProcessReport measures ingo as deployed: the built binary, an
// `ingo backend --embedded-nats` process (durable on, the default; durable
// with backend.history off; then durable off) and four `ingo agent
// --runtime noop` processes, with the client in this process; against raw
// NATS request/reply on the same embedded server in the same run.
// INGO_BENCH=1 runs 20,000 jobs per row (INGO_BENCH_JOBS overrides);
// otherwise 1,000, which only checks that every job gets exactly one
// success. INGO_BENCH_AGENT_GOMAXPROCS sets the agent processes'
// GOMAXPROCS (GOMAXPROCS itself sets every process's): what six Go
// runtimes sharing two cores cost in scheduling (docs/PERFORMANCE.md).
// INGO_BENCH_TLS=1 gives the embedded server a certificate of ingo certs
// and every connection but the backend's own (a pipe) TLS, the raw rows'
// too: what TLS costs.
func TestProcessReport(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("no go command to build ingo with: %v", err)
	}
	jobs := 1000
	if os.Getenv("INGO_BENCH") != "" {
		jobs = 20000
		if n, err := strconv.Atoi(os.Getenv("INGO_BENCH_JOBS")); err == nil && n > 0 {
			jobs = n
		}
	}
	bin := testutil.IngoBinary(t)

	on := measureProcesses(t, bin, jobs, processMode{"durable-true", nil})
	noHistory := measureProcesses(t, bin, jobs, processMode{"history-off", []string{"--set", "backend.history=false"}})
	off := measureProcesses(t, bin, jobs, processMode{"durable-false", []string{"--set", "backend.durable=false"}})

	us := func(d time.Duration) time.Duration { return d.Round(100 * time.Nanosecond) }
	row := func(name string, r processRun) string {
		return fmt.Sprintf("  %-22s: raw NATS %9.0f round trips/s | ingo %8.0f jobs/s (%.3f of raw)\n"+
			"  %-22s  CPU per job: backend+NATS %v, agents %v, client %v (raw: NATS %v per round trip)\n"+
			"  %-22s  NATS messages per job of the client: %.2f out, %.2f in (5 messages a job)\n"+
			"  %-22s  per job: backend+NATS %s; agents %s; client %s (read and write system calls; context switches)\n",
			name, r.raw, r.rate, r.rate/r.raw, "", us(r.backendCPU), us(r.agentsCPU), us(r.clientCPU), us(r.rawServerCPU),
			"", r.clientOut, r.clientIn, "", r.backendCounts.perJob(jobs), r.agentsCounts.perJob(jobs), r.clientCounts.perJob(jobs))
	}
	report := fmt.Sprintf("ingo as separate processes (%d jobs per row, %d agents x %d slots, noop runtime, %d in flight)\n",
		jobs, procAgents, procSlots, procInFlight) +
		row("durable on (default)", on) + row("durable, history off", noHistory) + row("durable off", off) +
		fmt.Sprintf("  durable on / off      : %.2f   (history off / on: %.2f)\n", on.rate/off.rate, noHistory.rate/on.rate) +
		fmt.Sprintf("  starts (backend serving, 4 agents registered): durable on %v, off %v\n",
			on.start.Round(time.Millisecond), off.start.Round(time.Millisecond)) +
		"  reproduce: INGO_BENCH=1 go test -count=1 -run TestProcessReport -v -timeout 10m ./tests/bench\n"
	for _, r := range []processRun{on, noHistory, off} {
		for _, l := range r.oddLines {
			report += "  log: " + l + "\n"
		}
	}
	t.Log("\n" + report)
	fmt.Fprint(os.Stderr, report)
}

// processRun is what measureProcesses found.
type processRun struct {
	raw, rate    float64       // round trips/s, jobs/s
	rawServerCPU time.Duration // the backend process (its NATS server) per raw round trip
	backendCPU   time.Duration // the backend process (backend and NATS server) per job
	agentsCPU    time.Duration // the four agent processes together, per job
	clientCPU    time.Duration // this process (client and the raw test connections idle), per job
	// clientOut and clientIn are the NATS messages the client's connection
	// sent and received per job: each job's messages are 2 out (its
	// submission, its result's ack) and 3 in (queued, started, result),
	// fewer where they left together in batches.
	clientOut, clientIn float64
	// backendCounts, agentsCounts and clientCounts are what the backend
	// process, the four agents together and this process counted during
	// the row's jobs.
	backendCounts, agentsCounts, clientCounts procCounts
	start                                     time.Duration // from starting the backend to 4 agents registered
	oddLines                                  []string      // warnings and errors in the processes' logs
}

// processEnv is the environment of the ingo processes: their own data and
// cache homes, and none of this process's INGO_* settings (an empty
// variable counts as unset).
func processEnv(home string) []string {
	env := []string{"XDG_DATA_HOME=" + filepath.Join(home, "data"), "XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"), "INGO_CONFIG="}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "INGO_") {
			env = append(env, k+"=")
		}
	}
	return env
}

// profiled adds to env a CPU profile of the process, named name, in the
// directory INGO_BENCH_PROFILE names, if set (the binary's
// INGO_CPUPROFILE), and a heap profile of what its last collection found
// live (INGO_HEAPPROFILE, name.heap). The client's profile is go test's
// -cpuprofile.
func profiled(env []string, name string) []string {
	dir := os.Getenv("INGO_BENCH_PROFILE")
	if dir == "" {
		return env
	}
	return append(slices.Clone(env), "INGO_CPUPROFILE="+filepath.Join(dir, name+".pprof"), "INGO_HEAPPROFILE="+filepath.Join(dir, name+".heap"))
}

// processMode is how measureProcesses runs the backend: name (in process
// and profile names) and its arguments beyond the defaults.
type processMode struct {
	name string
	args []string
}

// measureProcesses starts a backend process with its embedded NATS server
// (as mode says) and the agent processes, measures raw request/reply on
// that server and then ingo's throughput, checks every job succeeded once,
// and stops the processes.
func measureProcesses(t *testing.T, bin string, jobs int, mode processMode) processRun {
	t.Helper()
	home := t.TempDir()
	env := processEnv(home)
	dataDir := filepath.Join(home, "data", "ingo") // the default data dir: agents find the keys there
	url := fmt.Sprintf("nats://127.0.0.1:%d", testutil.FreePort(t))
	args := []string{"backend", "--embedded-nats", "--nats-url", url, "--data-dir", dataDir}
	args = append(args, mode.args...)
	var agentTLS []string
	var clientTLS *tls.Config
	if os.Getenv("INGO_BENCH_TLS") != "" {
		issued, err := tlsfiles.Issue(filepath.Join(home, "tls"), "server", []string{"127.0.0.1"}, tlsfiles.Server, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, "--set", "backend.nats-tls-cert="+issued.Cert, "--set", "backend.nats-tls-key="+issued.Key)
		agentTLS = []string{"--set", "nats.tls-ca=" + issued.CA}
		if clientTLS, err = tlsfiles.ClientConfig(issued.CA); err != nil {
			t.Fatal(err)
		}
	}
	connect := func(name string, creds *natsauth.Credentials) *nats.Conn {
		return connectWith(t, natsconn.Options{URL: url, Name: name, Creds: creds, TLS: clientTLS})
	}
	begin := time.Now()
	be := testutil.StartProcess(t, "backend("+mode.name+")", bin, profiled(env, "backend-"+mode.name), args...)
	testutil.Eventually(t, 60*time.Second, func() bool {
		if be.Exited() {
			t.Fatalf("ingo backend exited: %v\n%s", be.Err(), be.Output())
		}
		_, err := os.Stat(filepath.Join(dataDir, natsauth.AdminCredsFile))
		return err == nil
	}, "ingo backend wrote %s", natsauth.AdminCredsFile)
	admin, err := natsauth.ReadCreds(filepath.Join(dataDir, natsauth.AdminCredsFile))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := natsauth.Load(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	agents := make([]*testutil.Process, procAgents)
	for i := range agents {
		id := fmt.Sprintf("a%d", i+1)
		agentEnv := profiled(env, fmt.Sprintf("agent-%s-%s", id, mode.name))
		if n := os.Getenv("INGO_BENCH_AGENT_GOMAXPROCS"); n != "" {
			agentEnv = append(slices.Clone(agentEnv), "GOMAXPROCS="+n)
		}
		agents[i] = testutil.StartProcess(t, id, bin, agentEnv, append([]string{"agent", "--runtime", "noop",
			"--concurrency", strconv.Itoa(procSlots), "--nats-url", url, "--set", "agent.id=" + id, "--name", id}, agentTLS...)...)
	}
	defer func() {
		for _, a := range agents {
			if err := a.Stop(10 * time.Second); err != nil {
				t.Errorf("agent %s: %v", a.Name(), err)
			}
		}
		if err := be.Stop(15 * time.Second); err != nil {
			t.Errorf("backend: %v", err)
		}
		// How many records each journal and history message held, and
		// how many messages the server carried (the raw rows' included:
		// two in and two out per round trip). With INGO_BENCH_GCTRACE
		// set and GODEBUG=gctrace=1, the backend's collections too.
		for l := range strings.Lines(be.Output()) {
			if strings.Contains(l, "job history closed") || strings.Contains(l, "journal closed") ||
				strings.Contains(l, "embedded NATS server stopping") || (os.Getenv("INGO_BENCH_GCTRACE") != "" && strings.HasPrefix(l, "gc ")) {
				t.Logf("%s: %s", mode.name, strings.TrimSpace(l))
			}
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cl *frontendclient.Client
	testutil.Eventually(t, 30*time.Second, func() bool {
		opts := admin.NATSOptions()
		if clientTLS != nil {
			opts = append(opts, nats.Secure(clientTLS))
		}
		nc, err := nats.Connect(url, opts...)
		if err != nil {
			return false
		}
		nc.Close()
		return true
	}, "the embedded NATS server admits admin.creds")
	// A course frontend's identity, as `ingo creds --role frontend --name
	// bench` makes it: it may speak only as client bench.
	front, err := keys.Mint(natsauth.RoleFrontend, "bench", "")
	if err != nil {
		t.Fatal(err)
	}
	clientConn := connect("bench-client", front)
	cl, err = frontendclient.New(ctx, clientConn,
		frontendclient.Options{Name: "bench", ClientID: "bench", RequestTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if err := cl.WaitReady(wctx); err != nil {
		t.Fatalf("the client never saw the backend: %v", err)
	}
	testutil.Eventually(t, 60*time.Second, func() bool {
		q, err := cl.Queue(ctx)
		return err == nil && len(q.Agents) == procAgents
	}, "%d agents registered", procAgents)
	var r processRun
	r.start = time.Since(begin)

	// The reference: raw request/reply with a job's and a result's
	// payloads, on the same server, both ends in this process.
	req := sampleJob("sample")
	wireReq, _ := messages.Encode(&req.ClientNewJob)
	wireRes, _ := messages.Encode(&messages.BackendJobDone{JobID: req.JobID, JobResult: messages.JobResult{
		Result: messages.Result{Status: messages.StatusSuccess, Text: "noop"}, Grade: 100}})
	mint := func(name string) *natsauth.Credentials {
		c, err := keys.Mint(natsauth.RoleBackend, name, "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	srv := connect("raw-responder", mint("bench-responder"))
	if _, err := srv.Subscribe(rawSubject, func(m *nats.Msg) { _ = m.Respond(wireRes) }); err != nil {
		t.Fatal(err)
	}
	_ = srv.Flush()
	rnc := connect("raw-requester", mint("bench-requester"))
	be0 := procCPU(t, be.Pid())
	r.raw = closedLoop(jobs, procInFlight, func() {
		if _, err := rnc.Request(rawSubject, wireReq, time.Minute); err != nil {
			t.Errorf("raw request: %v", err)
		}
	})
	r.rawServerCPU = (procCPU(t, be.Pid()) - be0) / time.Duration(jobs)
	srv.Close()
	rnc.Close()

	// ingo: each job submitted, waited for, and counted once.
	var ok atomic.Int64
	be0 = procCPU(t, be.Pid())
	beCounts0 := readCounts(be.Pid())
	var ag0 time.Duration
	var agCounts0 procCounts
	for _, a := range agents {
		ag0 += procCPU(t, a.Pid())
		agCounts0 = agCounts0.add(readCounts(a.Pid()))
	}
	cl0 := cpuTime()
	clCounts0 := readCounts(os.Getpid())
	st0 := clientConn.Stats()
	r.rate = closedLoop(jobs, procInFlight, func() {
		id := fmt.Sprintf("proc-%d", jobCounter.Add(1))
		jctx, jcancel := context.WithTimeout(ctx, time.Minute)
		defer jcancel()
		j, err := cl.NewJob(jctx, sampleJob(id))
		if err != nil {
			t.Errorf("submit %s: %v", id, err)
			return
		}
		res, err := j.Wait(jctx)
		if err != nil || res.Result.Status != messages.StatusSuccess {
			t.Errorf("job %s: %v %+v", id, err, res)
			return
		}
		ok.Add(1)
	})
	r.clientCPU = (cpuTime() - cl0) / time.Duration(jobs)
	r.clientCounts = readCounts(os.Getpid()).sub(clCounts0)
	st1 := clientConn.Stats()
	r.clientOut = float64(st1.OutMsgs-st0.OutMsgs) / float64(jobs)
	r.clientIn = float64(st1.InMsgs-st0.InMsgs) / float64(jobs)
	r.backendCPU = (procCPU(t, be.Pid()) - be0) / time.Duration(jobs)
	r.backendCounts = readCounts(be.Pid()).sub(beCounts0)
	var ag1 time.Duration
	var agCounts1 procCounts
	for _, a := range agents {
		ag1 += procCPU(t, a.Pid())
		agCounts1 = agCounts1.add(readCounts(a.Pid()))
	}
	r.agentsCounts = agCounts1.sub(agCounts0)
	r.agentsCPU = (ag1 - ag0) / time.Duration(jobs)
	if n := ok.Load(); n != int64(jobs) {
		t.Errorf("%s: %d of %d jobs got a success result", mode.name, n, jobs)
	}
	// Nothing left running or waiting, and no process died on the way.
	testutil.Eventually(t, 30*time.Second, func() bool {
		q, err := cl.Queue(ctx)
		return err == nil && len(q.JobsWaiting) == 0 && len(q.JobsRunning) == 0
	}, "the queue empties")
	for _, p := range append([]*testutil.Process{be}, agents...) {
		if p.Exited() {
			t.Errorf("%s exited during the run: %v", p.Name(), p.Err())
		}
		r.oddLines = append(r.oddLines, oddLines(p)...)
	}
	return r
}

// oddLines are the log lines of p above info (at most 5).
func oddLines(p *testutil.Process) []string {
	var odd []string
	sc := bufio.NewScanner(strings.NewReader(p.Output()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "backend.durable is off") { // asked for
			continue
		}
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") ||
			strings.Contains(l, `"level":"WARN"`) || strings.Contains(l, `"level":"ERROR"`) || strings.Contains(l, "panic") {
			odd = append(odd, p.Name()+": "+l)
		}
	}
	if len(odd) > 5 {
		odd = append(odd[:5], fmt.Sprintf("%s: ... and %d more", p.Name(), len(odd)-5))
	}
	return odd
}

// procCPU is the CPU time (user + system) process pid used so far, from
// /proc; 0 where there is no /proc.
func procCPU(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14 and stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		t.Fatalf("unexpected /proc/%d/stat: %q", pid, s)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, 100 on every Linux Go runs on.
const clockTicks = 100
