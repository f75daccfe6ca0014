package chaos

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// system is one ingo installation made of real processes: a NATS server,
// backends, agents with the fake runtime, and chaosclient frontends.
type system struct {
	t        *testing.T
	dir      string
	nats     *testutil.NATSCluster
	backends []*testutil.Process
	agents   []*testutil.Process
	clients  []*client
	runLog   string

	mu     sync.Mutex
	deaths map[string][]time.Time // agent id -> when its processes were killed
}

type client struct {
	id   string
	out  string
	jobs int
	proc *testutil.Process
}

type options struct {
	backends, agents, slots int
	clients, jobs           int
	rate                    float64 // jobs per second per client
	sleep                   string  // each job's run time
	env                     []string
}

var (
	buildOnce sync.Once
	clientBin string
	buildErr  error
)

// chaosClient builds the frontend program once per test binary.
func chaosClient(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := testutil.BinaryDir("ingo-chaos-bin-")
		if err != nil {
			buildErr = err
			return
		}
		_, file, _, _ := runtime.Caller(0)
		clientBin = filepath.Join(dir, "chaosclient")
		cmd := exec.Command("go", "build", "-o", clientBin, "./chaosclient")
		cmd.Dir = filepath.Dir(file)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%w: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build chaosclient: %v", buildErr)
	}
	return clientBin
}

func startSystem(t *testing.T, o options) *system {
	t.Helper()
	ingo := testutil.IngoBinary(t)
	cc := chaosClient(t)
	s := &system{t: t, dir: t.TempDir(), deaths: map[string][]time.Time{}}
	s.runLog = filepath.Join(s.dir, "runs.log")
	s.nats = testutil.StartNATSCluster(t, 1)
	env := append([]string{
		"INGO_NATS_URL=" + s.nats.URLs(),
		"INGO_NATS_TLS_CA=" + s.nats.CAFile(),
		"INGO_LOG_LEVEL=info",
		"INGO_AGENT_FAKE_RUN_LOG=" + s.runLog,
		// A job survives several lost attempts here: the suite counts
		// deliveries, and a crash after two agent deaths would be a
		// correct answer that hides nothing but makes the counts noisier.
		"INGO_BACKEND_MAX_ATTEMPTS=6",
		"INGO_BACKEND_START_TIMEOUT=5s",
		"INGO_BACKEND_RESULT_RESEND=2s",
		"INGO_AGENT_RESULT_RETRY=500ms",
	}, o.env...)
	for i := range o.backends {
		name := fmt.Sprintf("backend-%d", i+1)
		creds := "INGO_NATS_CREDS=" + testutil.CredsFile(t, natsauth.RoleBackend, name)
		s.backends = append(s.backends, testutil.StartProcess(t, name, ingo, append(slices.Clip(env), creds), "backend"))
		if i == 0 {
			// The first one is the active backend: the tests know whom to kill.
			s.waitOutput(s.backends[0], "backend serving", 1)
		}
	}
	for i := range o.agents {
		id := fmt.Sprintf("agent-%d", i+1)
		creds := "INGO_NATS_CREDS=" + testutil.CredsFile(t, natsauth.RoleAgent, id)
		s.agents = append(s.agents, testutil.StartProcess(t, id, ingo, append(slices.Clip(env), "INGO_AGENT_ID="+id, creds), "agent", "--runtime", "fake",
			"--concurrency", strconv.Itoa(o.slots), "--environments", "docker/default"))
	}
	for i := range o.clients {
		c := &client{id: fmt.Sprintf("chaos-%d", i+1), jobs: o.jobs}
		c.out = filepath.Join(s.dir, c.id+".log")
		c.proc = testutil.StartProcess(t, c.id, cc, nil, "--nats-url", s.nats.URLs(), "--tls-ca", s.nats.CAFile(), "--client-id", c.id,
			"--creds", testutil.CredsFile(t, natsauth.RoleFrontend, c.id),
			"--jobs", strconv.Itoa(o.jobs), "--rate", fmt.Sprint(o.rate), "--sleep", o.sleep, "--out", c.out)
		s.clients = append(s.clients, c)
	}
	return s
}

// waitOutput waits until p has printed substr at least n times.
func (s *system) waitOutput(p *testutil.Process, substr string, n int) time.Time {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(p.Output(), substr) >= n {
			return time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("%s did not print %q %d times within 60s", p.Name(), substr, n)
	return time.Time{}
}

// killAgent SIGKILLs an agent and notes when: its unfinished attempts end
// then (the fake runtime's jobs die with the process).
func (s *system) killAgent(i int) {
	s.agents[i].Kill()
	s.mu.Lock()
	s.deaths[s.agents[i].Name()] = append(s.deaths[s.agents[i].Name()], time.Now())
	s.mu.Unlock()
}

// waitClients waits for every client process to exit on its own (it does
// once all its jobs have a result), and fails after limit.
func (s *system) waitClients(limit time.Duration) {
	s.t.Helper()
	deadline := time.After(limit)
	for _, c := range s.clients {
		select {
		case <-c.proc.Done():
			if err := c.proc.Err(); err != nil {
				s.t.Errorf("%s exited with %v", c.id, err)
			}
		case <-deadline:
			s.t.Fatalf("%s still waits for results after %v", c.id, limit)
		}
	}
}

// counts is what the suite checks and prints.
type counts struct {
	jobs, results, lost, duplicates, overlaps, attempts, retried int
	statuses                                                     map[string]int
}

func (c counts) String() string {
	var st []string
	for k, v := range c.statuses {
		st = append(st, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(st)
	return fmt.Sprintf("jobs=%d results=%d lost=%d duplicates=%d overlapping_attempts=%d attempts=%d jobs_retried=%d statuses[%s]",
		c.jobs, c.results, c.lost, c.duplicates, c.overlaps, c.attempts, c.retried, strings.Join(st, " "))
}

// verify counts, per job id, the results stored by the clients and the
// attempts in the agents' run log, and fails on any loss, duplicate or
// overlap.
func (s *system) verify() counts {
	s.t.Helper()
	c := counts{statuses: map[string]int{}}
	for _, cl := range s.clients {
		got := map[string]int{}
		for _, f := range readLines(s.t, cl.out) {
			if len(f) >= 3 && f[0] == "result" {
				got[f[1]]++
				c.statuses[f[2]]++
			}
		}
		for i := range cl.jobs {
			id := fmt.Sprintf("%s-%04d", cl.id, i)
			c.jobs++
			switch n := got[id]; {
			case n == 0:
				c.lost++
				s.t.Errorf("%s: no result", id)
			case n > 1:
				c.duplicates++
				s.t.Errorf("%s: %d results", id, n)
			}
			c.results += got[id]
		}
	}
	c.overlaps, c.attempts, c.retried = s.checkAttempts()
	return c
}

type span struct {
	agent      string
	attempt    string
	start, end int64
}

// checkAttempts reads the run log: no two attempts of one job may have run
// at the same time. An attempt without an end ended when its agent process
// was killed (the first kill after its start).
func (s *system) checkAttempts() (overlaps, attempts, retried int) {
	s.t.Helper()
	spans := map[string]map[string]*span{} // job -> agent/attempt -> span
	for _, f := range readLines(s.t, s.runLog) {
		if len(f) < 5 {
			continue
		}
		at, _ := strconv.ParseInt(f[1], 10, 64)
		job, key := f[3], f[2]+"/"+f[4]
		if spans[job] == nil {
			spans[job] = map[string]*span{}
		}
		sp := spans[job][key]
		if sp == nil {
			sp = &span{agent: f[2], attempt: f[4]}
			spans[job][key] = sp
		}
		switch f[0] {
		case "start":
			sp.start = at
		case "end":
			sp.end = at
		}
	}
	for job, byKey := range spans {
		var list []*span
		for _, sp := range byKey {
			if sp.end == 0 {
				sp.end = s.deathAfter(sp.agent, sp.start)
			}
			list = append(list, sp)
		}
		attempts += len(list)
		if len(list) > 1 {
			retried++
		}
		sort.Slice(list, func(i, j int) bool { return list[i].start < list[j].start })
		for i := 1; i < len(list); i++ {
			if list[i].start < list[i-1].end {
				overlaps++
				s.t.Errorf("%s: attempt %s on %s started while attempt %s on %s still ran", job,
					list[i].attempt, list[i].agent, list[i-1].attempt, list[i-1].agent)
			}
		}
	}
	return overlaps, attempts, retried
}

func (s *system) deathAfter(agent string, start int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.deaths[agent] {
		if d.UnixNano() >= start {
			return d.UnixNano()
		}
	}
	// Still running at the end of the test: it cannot overlap a later one.
	return time.Now().UnixNano()
}

func readLines(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	defer f.Close()
	var lines [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, strings.Fields(sc.Text()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// report prints the counts to the test log and, when INGO_CHAOS_REPORT
// names a file, appends them there (.ci/run prints it).
func report(t *testing.T, lines ...string) {
	t.Helper()
	for _, l := range lines {
		t.Log(l)
	}
	path := os.Getenv("INGO_CHAOS_REPORT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Errorf("chaos report: %v", err)
		return
	}
	defer f.Close()
	for _, l := range lines {
		fmt.Fprintf(f, "%s: %s\n", t.Name(), l)
	}
}
