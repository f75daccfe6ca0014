package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/containers/noop"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// agentsRow is one row of the agents report: a backend (durable off) with
// n agents, real or simulated, measured on its own.
type agentsRow struct {
	agents    int
	simulated bool
	rate      float64       // jobs/s, closed loop
	loopCPU   time.Duration // the backend's event loop per job
	idleLoop  float64       // the event loop's share of a core with no jobs (heartbeats, ticks)
	procCPU   time.Duration // the whole test process per job
	lat       latencies     // paced
	register  time.Duration // from the first hello to every agent registered
}

// agentsParams shape the rows of one report.
type agentsParams struct {
	slots, jobs, warmup, inFlight int
	pacedRate                     int
	pacedFor                      time.Duration
	idleFor                       time.Duration // how long to measure the idle loop
}

// measureAgents starts a backend, n agents (simulated: on one connection;
// otherwise real agents with the noop runtime, each on its own
// connection) and a client on url; warms up, measures throughput and the
// CPU of the backend's event loop and of the whole process per job, then
// paced latency; checks that every job succeeded once; and stops it all.
//
// The event loop (backend.Run) runs on a goroutine locked to its own OS
// thread, whose CPU time /proc gives apart: the backend's own work per
// job (handling messages, the fair share, the choice of an agent, encoding
// what it sends), without NATS' writes, the decoding of what it receives
// (NATS' goroutines), the agents or the client.
func measureAgents(t *testing.T, url string, n int, simulated bool, p agentsParams) agentsRow {
	t.Helper()
	row := agentsRow{agents: n, simulated: simulated}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var conns []*nats.Conn
	var sims *simAgents
	var cl *frontendclient.Client
	defer func() {
		if cl != nil {
			cl.Close()
		}
		if sims != nil {
			sims.close()
		}
		cancel()
		wg.Wait()
		for _, nc := range conns {
			nc.Close()
		}
	}()
	conn := func(name string, role natsauth.Role, id string) *nats.Conn {
		nc := connectAs(t, url, name, as(t, url, role, id))
		conns = append(conns, nc)
		return nc
	}
	cfg := backend.DefaultConfig()
	cfg.EnvironmentGrace = 0
	b, err := backend.New(conn("backend", natsauth.RoleBackend, "backend"), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	loop := make(chan int, 1)
	wg.Go(func() {
		runtime.LockOSThread() // never unlocked: the thread ends with Run
		loop <- syscall.Gettid()
		_ = b.Run(ctx)
	})
	tid := <-loop
	cl, err = frontendclient.New(ctx, conn("client", natsauth.RoleFrontend, "bench"),
		frontendclient.Options{Name: "bench", ClientID: "bench", RequestTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if simulated {
		sims = startSimAgents(t, url, n, p.slots, agent.DefaultHeartbeatInterval)
		sims.waitRegistered(2 * time.Minute)
	} else {
		for i := range n {
			rt, err := noop.New()
			if err != nil {
				t.Fatal(err)
			}
			id := fmt.Sprintf("agent%04d", i)
			a, err := agent.New(conn(id, natsauth.RoleAgent, id), rt, nil, agent.Config{ID: id, Slots: p.slots}, nil)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() { _ = a.Run(ctx) })
		}
	}
	testutil.Eventually(t, 2*time.Minute, func() bool {
		q, err := cl.Queue(ctx)
		return err == nil && len(q.Agents) == n
	}, "%d agents registered", n)
	row.register = time.Since(start)

	// With no job: what the agents' heartbeats (and the ticks) cost.
	idle0, idleStart := threadCPU(t, tid), time.Now()
	time.Sleep(p.idleFor)
	row.idleLoop = float64(threadCPU(t, tid)-idle0) / float64(time.Since(idleStart))

	closedLoop(p.warmup, p.inFlight, func() { runOne(t, cl) })
	before := b.Stats().Finished
	cpu0, loop0 := cpuTime(), threadCPU(t, tid)
	row.rate = closedLoop(p.jobs, p.inFlight, func() { runOne(t, cl) })
	row.loopCPU = (threadCPU(t, tid) - loop0) / time.Duration(p.jobs)
	row.procCPU = (cpuTime() - cpu0) / time.Duration(p.jobs)
	if got := b.Stats().Finished - before; got != int64(p.jobs) {
		t.Errorf("%d agents: %d jobs finished, want %d", n, got, p.jobs)
	}
	row.lat = pipelinePaced(t, cl, p.pacedRate, p.pacedFor)
	if s := b.Stats(); s.Malformed+s.Unexpected+s.StaleAttempts+s.JournalErrors+s.AgentsLost+s.Requeued != 0 {
		t.Errorf("%d agents: the backend saw errors: %+v", n, s)
	}
	if sims != nil && sims.jobs.Load() < int64(p.jobs) {
		t.Errorf("%d simulated agents got %d jobs, want at least %d", n, sims.jobs.Load(), p.jobs)
	}
	return row
}

// threadCPU is the CPU time thread tid of this process used so far, from
// /proc: schedstat's run time, in nanoseconds, or else stat's user +
// system time, in clock ticks (10 ms); 0 where there is no /proc.
func threadCPU(t *testing.T, tid int) time.Duration {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/schedstat", tid)); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return time.Duration(ns)
			}
		}
	}
	return statCPU(t, fmt.Sprintf("/proc/self/task/%d/stat", tid))
}

// statCPU reads utime + stime from a /proc stat file; 0 if there is none.
func statCPU(t *testing.T, path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: utime is field 14 and stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		t.Fatalf("unexpected %s: %q", path, s)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}
