package backend

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// loopBackend is a backend whose event loop is the test: the test hands
// it events and calls dispatch and tick itself, on a virtual clock. Its
// messages go to a NATS server where nobody listens.
func loopBackend(t testing.TB) (*Backend, *time.Time) {
	t.Helper()
	n := testutil.StartNATS(t)
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "backend", Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cfg := DefaultConfig()
	cfg.EnvironmentGrace = 0
	b, err := New(nc, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	b.now = func() time.Time { return now }
	b.startedAt = now
	return b, &now
}

// TestAgentIndex_AgreesWithAScan drives a backend through random hellos
// (new agents, new slot counts and environments, restarts), jobs arriving,
// starting, ending, handed back, agents falling silent, and checks every
// choice dispatch makes against the scan of every agent that dispatch did
// before the index (leastBusyByScan), and the index against the agents
// after every step.
func TestAgentIndex_AgreesWithAScan(t *testing.T) {
	b, now := loopBackend(t)
	rng := rand.New(rand.NewPCG(3, 5))
	topics := []topic{{"docker", "e0"}, {"docker", "e1"}, {"kvm", "e0"}}
	choices, nils := 0, 0
	b.agentIdx.check = func(got *agent, idle []*agent) {
		want := choiceByScan(b, idle)
		switch {
		case got == nil && want == nil:
			nils++
			return
		case got == nil || want == nil:
			t.Fatalf("index chose %v, the scan %v", agentKey(got), agentKey(want))
		}
		// The scan leaves full ties to map order; the index to the id.
		if got.free() <= 0 || slices.Contains(idle, got) ||
			len(got.running)*want.slots != len(want.running)*got.slots || got.lastPick != want.lastPick {
			t.Fatalf("index chose %v, the scan %v", agentKey(got), agentKey(want))
		}
		choices++
	}
	sessions := map[string]int{}
	jobs := 0
	for step := range 6000 {
		*now = now.Add(time.Duration(rng.IntN(40)) * time.Millisecond)
		switch op := rng.IntN(20); {
		case op < 2: // a hello: new agent, same session with new slots or environments, or a restart
			id := fmt.Sprintf("a%d", rng.IntN(40))
			if rng.IntN(4) == 0 {
				sessions[id]++
			}
			hello := &messages.AgentHello{ProtocolVersion: messages.ProtocolVersion, AvailableJobSlots: rng.IntN(5),
				Session: fmt.Sprintf("s%d", sessions[id]), AvailableEnvironments: map[string]map[string]messages.EnvironmentInfo{}}
			for _, tp := range topics {
				if rng.IntN(2) == 0 {
					if hello.AvailableEnvironments[tp.envType] == nil {
						hello.AvailableEnvironments[tp.envType] = map[string]messages.EnvironmentInfo{}
					}
					hello.AvailableEnvironments[tp.envType][tp.env] = messages.EnvironmentInfo{Advertised: rng.IntN(4) != 0}
				}
			}
			if a := b.agents[id]; a != nil && a.session == hello.Session {
				// An honest agent reports what it runs.
				for jid, j := range a.running {
					hello.RunningJobs = append(hello.RunningJobs, messages.JobAttempt{JobID: jid, Attempt: j.attempt})
				}
				hello.LastJobSeq = a.nextSeq
			}
			b.handle(event{at: *now, sender: id, msg: hello, agent: true})
		case op < 8: // a job arrives
			jobs++
			tp := topics[rng.IntN(len(topics))]
			j := newJob(fmt.Sprintf("j%d", jobs), tp.env, rng.IntN(2))
			j.EnvironmentType = tp.envType
			b.seq++
			if err := b.commit(&JobQueued{Job: j, ClientID: "c", Seq: b.seq, At: *now}); err != nil {
				t.Fatal(err)
			}
		case op < 11:
			b.dispatch()
		case op < 17: // an agent answers about one of its jobs
			j := randomJobOnAgent(b, rng)
			if j == nil {
				continue
			}
			var m messages.Message
			switch rng.IntN(4) {
			case 0:
				m = &messages.AgentJobStarted{JobID: j.id(), Attempt: j.attempt}
			case 1:
				m = &messages.AgentJobRefused{JobID: j.id(), Attempt: j.attempt, Reason: "busy"}
			default:
				m = &messages.AgentJobDone{JobID: j.id(), Attempt: j.attempt,
					JobResult: messages.NewJobResult(messages.StatusSuccess, "ok", "")}
			}
			b.handle(event{at: *now, sender: j.agentID, msg: m, agent: true})
		case op < 19: // most agents ping; some fall silent
			for id, a := range b.agents {
				if id < "a3" {
					continue
				}
				b.handle(event{at: *now, sender: id, msg: &messages.Ping{Session: a.session}, agent: true})
			}
		default: // time passes: silent agents are lost, unconfirmed jobs taken back
			*now = now.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
			b.tick()
		}
		checkAgentIndex(t, b, step)
	}
	if choices < 1000 || nils < 100 {
		t.Fatalf("only %d choices and %d rounds ending without an agent were checked", choices, nils)
	}
	t.Logf("%d choices, %d rounds ending without an agent, %d jobs", choices, nils, jobs)
}

// randomJobOnAgent returns a job assigned to or running on an agent.
func randomJobOnAgent(b *Backend, rng *rand.Rand) *job {
	var on []*job
	for _, j := range b.jobs {
		if j.phase != phaseWaiting {
			on = append(on, j)
		}
	}
	if len(on) == 0 {
		return nil
	}
	slices.SortFunc(on, func(x, y *job) int { return int(x.seq) - int(y.seq) }) // map order is random
	return on[rng.IntN(len(on))]
}

// checkAgentIndex checks that the index files exactly the agents with a
// free slot, under their topics, with their current load and last pick.
func checkAgentIndex(t *testing.T, b *Backend, step int) {
	t.Helper()
	ix := &b.agentIdx
	for _, a := range b.agents {
		f := ix.filed[a]
		if a.free() <= 0 || len(a.topics) == 0 {
			if f != nil {
				t.Fatalf("step %d: %s filed with no free slot or environment", step, agentKey(a))
			}
			continue
		}
		if f == nil {
			t.Fatalf("step %d: %s has a free slot and is not filed", step, agentKey(a))
		}
		if f.running != len(a.running) || f.slots != a.slots || f.lastPick != a.lastPick || !sameTopics(f.entries, a.topics) {
			t.Fatalf("step %d: %s filed as %d/%d, pick %d", step, agentKey(a), f.running, f.slots, f.lastPick)
		}
		for _, e := range f.entries {
			if h := ix.byTopic[e.t]; h == nil || e.idx >= h.Len() || h.items[e.idx] != e {
				t.Fatalf("step %d: %s lost from the heap of %v", step, agentKey(a), e.t)
			}
		}
	}
	n := 0
	for a, f := range ix.filed {
		if b.agents[a.id] != a {
			t.Fatalf("step %d: %s filed but not registered", step, agentKey(a))
		}
		n += len(f.entries)
	}
	for tp, h := range ix.byTopic {
		n -= h.Len()
		for i := 1; i < h.Len(); i++ {
			if h.less(h.items[i], h.items[(i-1)/2]) {
				t.Fatalf("step %d: the heap of %v is out of order at %d", step, tp, i)
			}
		}
	}
	if n != 0 {
		t.Fatalf("step %d: the heaps hold %d entries more than the filed agents", step, -n)
	}
	// The environments advertised, counted as agents come and go, and
	// told to clients when their set changes.
	want := map[topic]int{}
	adv := map[string][]string{}
	for _, a := range b.agents {
		for typ, names := range a.envs {
			for name, info := range names {
				if info.Advertised {
					if want[topic{typ, name}]++; want[topic{typ, name}] == 1 {
						adv[typ] = append(adv[typ], name)
					}
				}
			}
		}
	}
	if !maps.Equal(ix.advertisedBy, want) {
		t.Fatalf("step %d: advertised by %v, want %v", step, ix.advertisedBy, want)
	}
	for _, names := range adv {
		slices.Sort(names)
	}
	if !maps.EqualFunc(adv, b.advertised, slices.Equal) {
		t.Fatalf("step %d: environments advertised %v, want %v", step, b.advertised, adv)
	}
}

func agentKey(a *agent) string {
	if a == nil {
		return "no agent"
	}
	return fmt.Sprintf("%s (%d/%d running, picked %d)", a.id, len(a.running), a.slots, a.lastPick)
}

// choiceByScan is the choice dispatch made before the index: scan every
// agent for the least busy, and set aside the ones with no job waiting in
// their environments until one has.
func choiceByScan(b *Backend, idle []*agent) *agent {
	skip := map[string]bool{}
	for _, a := range idle {
		skip[a.id] = true
	}
	for {
		a := leastBusyByScan(b, skip)
		if a == nil || b.queues.best(a.topics, &b.share) != nil {
			return a
		}
		skip[a.id] = true
	}
}

// leastBusyByScan is leastBusy as it was, a scan of every agent: what the
// index must agree with.
func leastBusyByScan(b *Backend, skip map[string]bool) *agent {
	var best *agent
	for _, a := range b.agents {
		if a.free() <= 0 || skip[a.id] {
			continue
		}
		if best == nil {
			best = a
			continue
		}
		// Compare running/slots without division.
		l, r := len(a.running)*best.slots, len(best.running)*a.slots
		if l < r || (l == r && a.lastPick < best.lastPick) {
			best = a
		}
	}
	return best
}

// BenchmarkDispatch is the event loop's work per job with 10 agents and
// with 1,000 (4 slots each, half of them busy): a job queued, dispatched
// to the least busy agent, started and done. It should not depend on the
// number of agents. Messages go to a NATS server where nobody listens.
func BenchmarkDispatch(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) {
			be, now := loopBackend(b)
			envs := map[string]map[string]messages.EnvironmentInfo{"docker": {"default": {Advertised: true}}}
			for i := range n {
				be.handle(event{at: *now, sender: fmt.Sprintf("a%04d", i), agent: true, msg: &messages.AgentHello{
					ProtocolVersion: messages.ProtocolVersion, AvailableJobSlots: 4, AvailableEnvironments: envs, Session: "s"}})
			}
			var running []*job
			submit := func(k int) {
				be.seq++
				if err := be.commit(&JobQueued{Job: newJob(fmt.Sprintf("j%d", k), "default", 0), ClientID: "c", Seq: be.seq, At: *now}); err != nil {
					b.Fatal(err)
				}
				be.dispatch()
				j := be.jobs[fmt.Sprintf("j%d", k)]
				if j == nil || j.phase == phaseWaiting {
					b.Fatalf("job %d not dispatched", k)
				}
				be.handle(event{at: *now, sender: j.agentID, agent: true, msg: &messages.AgentJobStarted{JobID: j.id(), Attempt: j.attempt}})
				running = append(running, j)
			}
			for k := range 2 * n { // half the slots busy
				submit(-1 - k)
			}
			// The loop's thread CPU, which a loaded machine does not inflate
			// as it does the wall time.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ResetTimer()
			cpu0 := threadCPU()
			for k := range b.N {
				submit(k)
				j := running[0]
				running = running[1:]
				be.handle(event{at: *now, sender: j.agentID, agent: true, msg: &messages.AgentJobDone{JobID: j.id(), Attempt: j.attempt,
					JobResult: messages.NewJobResult(messages.StatusSuccess, "ok", "")}})
			}
			if cpu := threadCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// threadCPU is the CPU time of the calling thread (Linux), 0 elsewhere.
func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD, Linux only
	var ru syscall.Rusage
	if runtime.GOOS != "linux" || syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
