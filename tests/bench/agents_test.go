package bench

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestAgentsReport measures dispatch with many agents against few, in the
// same run on the same server: 10 agents against 1,000 of 4 slots each
// (INGO_BENCH=1; 100 otherwise, on a small load that only checks that
// every job succeeds once), the backend in memory.
//
// First simulated agents: each with its own id, session, hello, heartbeat
// (one ping a second) and slots, answering its own jobs at once, but all
// on one NATS connection (simagents_test.go). They show what the backend
// itself does per job with a thousand agents: its event loop's CPU per
// job is measured apart (measureAgents). Then real agents (noop runtime),
// each on its own connection, in this process: with a thousand, most of
// the extra CPU is NATS writing to a thousand sockets, on both sides, in
// the same process as the backend.
func TestAgentsReport(t *testing.T) {
	many := 100
	p := agentsParams{slots: 4, jobs: 2000, warmup: 200, inFlight: 1024, pacedRate: 200, pacedFor: 500 * time.Millisecond,
		idleFor: 500 * time.Millisecond}
	realMany, realJobs, rounds := 50, 1000, 1
	if os.Getenv("INGO_BENCH") != "" {
		many, realMany, rounds = 1000, 1000, 3
		p.jobs, p.warmup, p.pacedFor, p.idleFor = 20000, 2000, 2*time.Second, 3*time.Second
		if n, err := strconv.Atoi(os.Getenv("INGO_BENCH_JOBS")); err == nil && n > 0 {
			p.jobs = n
		}
		realJobs = p.jobs
	}
	n := testutil.StartNATS(t)
	load := loadAverage()
	// Few and many in turns, a few times: on a shared machine one round
	// may be unlucky; the median ratio is the figure.
	var sim [][2]agentsRow
	for range rounds {
		sim = append(sim, [2]agentsRow{measureAgents(t, n.URL, 10, true, p), measureAgents(t, n.URL, many, true, p)})
	}
	rp := p
	rp.jobs = realJobs
	real := []agentsRow{measureAgents(t, n.URL, 10, false, rp), measureAgents(t, n.URL, realMany, false, rp)}

	us := func(d time.Duration) time.Duration { return d.Round(100 * time.Nanosecond) }
	row := func(r, ref agentsRow) string {
		kind := "real"
		if r.simulated {
			kind = "simulated"
		}
		s := fmt.Sprintf("  %-9s %5d agents: %7.0f jobs/s   loop CPU %-8v process CPU %-8v p50 %-8v p99 %-8v registered in %v, idle loop %.2f%%\n",
			kind, r.agents, r.rate, us(r.loopCPU), us(r.procCPU), r.lat.p50, r.lat.p99, r.register.Round(10*time.Millisecond), 100*r.idleLoop)
		if r.agents != ref.agents {
			s += fmt.Sprintf("  %-9s %5s         %.2f of the rate with %d; loop CPU per job %.2f of it, process CPU %.2f of it\n",
				"", "", r.rate/ref.rate, ref.agents, float64(r.loopCPU)/float64(ref.loopCPU), float64(r.procCPU)/float64(ref.procCPU))
		}
		return s
	}
	report := fmt.Sprintf("ingo agents report (%d jobs per simulated row, %d per real row, %d slots per agent, %d in flight, durable off;\n"+
		"  %d CPUs, load average %s at the start; per job: loop CPU = the backend's event loop, process CPU = this whole process;\n"+
		"  idle loop = the event loop's share of a core while the agents only ping)\n",
		p.jobs, rp.jobs, p.slots, p.inFlight, runtime.NumCPU(), load) +
		simRows(sim, row) + row(real[0], real[0]) + row(real[1], real[0]) +
		fmt.Sprintf("  paced at %d/s for %v per row, submit to result\n", p.pacedRate, p.pacedFor) +
		"  reproduce: INGO_BENCH=1 go test -count=1 -run TestAgentsReport -v -timeout 30m ./tests/bench\n"
	t.Log("\n" + report)
	fmt.Fprint(os.Stderr, report)
}

// simRows are the rounds of simulated agents, and the median ratios of
// many to few.
func simRows(sim [][2]agentsRow, row func(r, ref agentsRow) string) string {
	var s string
	var rate, loop []float64
	for i, r := range sim {
		if len(sim) > 1 {
			s += fmt.Sprintf("  round %d\n", i+1)
		}
		s += row(r[0], r[0]) + row(r[1], r[0])
		rate = append(rate, r[1].rate/r[0].rate)
		loop = append(loop, float64(r[1].loopCPU)/float64(r[0].loopCPU))
	}
	if len(sim) > 1 {
		slices.Sort(rate)
		slices.Sort(loop)
		s += fmt.Sprintf("  simulated, median of %d rounds: %d agents run at %.2f of the rate with %d; loop CPU per job %.2f of it\n",
			len(sim), sim[0][1].agents, rate[len(rate)/2], sim[0][0].agents, loop[len(loop)/2])
	}
	return s
}

// loadAverage is the 1, 5 and 15 minute load average, "?" without /proc.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
