package bench

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestAgentsReport measures dispatch with many agents against few, same
// run, same server: 10 agents and 1,000 agents of 4 slots each
// (INGO_BENCH=1; 10 and 100 otherwise), each a real agent with its own
// NATS connection, heartbeats and noop runtime, the backend in memory.
// What a deadline with a big cluster costs per job: registration,
// heartbeats (one per agent per second) and the choice of an agent.
func TestAgentsReport(t *testing.T) {
	many, jobs := 100, 2000
	if os.Getenv("INGO_BENCH") != "" {
		many, jobs = 1000, 20000
	}
	n := testutil.StartNATS(t)
	base := params{jobs: jobs, slots: 4, inFlight: 1024, pacedRate: 200, pacedFor: 2 * time.Second}
	few := base
	few.agents = 10
	lots := base
	lots.agents = many
	start := time.Now()
	fewRun := measurePipeline(t, n.URL, few, false)
	startMany := time.Now()
	lotsRun := measurePipeline(t, n.URL, lots, false)
	report := fmt.Sprintf(`ingo agents report (%d jobs, 4 slots per agent, 1,024 in flight, durable off)
  %5d agents : %7.0f jobs/s   CPU %v per job   paced p50 %v p99 %v   (system up and measured in %v)
  %5d agents : %7.0f jobs/s   CPU %v per job   paced p50 %v p99 %v   (%.2f of %d agents; up and measured in %v)
`, jobs, few.agents, fewRun.rate, fewRun.cpu.Round(100*time.Nanosecond), fewRun.lat.p50, fewRun.lat.p99, startMany.Sub(start).Round(time.Second),
		lots.agents, lotsRun.rate, lotsRun.cpu.Round(100*time.Nanosecond), lotsRun.lat.p50, lotsRun.lat.p99, lotsRun.rate/fewRun.rate, few.agents, time.Since(startMany).Round(time.Second))
	t.Log("\n" + report)
	fmt.Fprint(os.Stderr, report)
}
