package bench

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/messages"
)

// simAgents are many agents on one NATS connection: each has its own id,
// session, hello, heartbeat and slots, and answers its own jobs at once as
// the noop runtime would (started, then a success), but they share a
// socket, a subscription to every agent subject and a few goroutines. What
// the backend sees is the same as from real agents (a message per agent
// subject, a ping per agent per second); what the test process does not
// do is write to a thousand connections, so that a report of many agents
// against few measures the backend rather than NATS' fan-out.
type simAgents struct {
	t       *testing.T
	nc      *nats.Conn
	subj    messages.Subjects
	ids     []string
	index   map[string]int // by id
	session []string
	slots   int
	env     string // offered, as docker/env
	// acked marks the agents whose hello the backend acknowledged.
	acked      []atomic.Bool
	registered atomic.Int64
	jobs       atomic.Int64 // BackendNewJob received
	odd        atomic.Int64 // anything an honest agent never gets
	lastOdd    atomic.Value // string
	work       []chan *nats.Msg
	stop       chan struct{}
	wg         sync.WaitGroup
}

// simWorkers handle the agents' messages, each agent always on the same
// one so that its messages keep their order.
const simWorkers = 4

// startSimAgents connects n agents of slots each, offering docker/default,
// and says hello for each; they ping every interval until stopped.
func startSimAgents(t *testing.T, url string, n, slots int, interval time.Duration) *simAgents {
	t.Helper()
	return startSimAgentsFor(t, url, "default", n, slots, interval)
}

// startSimAgentsFor is startSimAgents offering docker/env.
func startSimAgentsFor(t *testing.T, url, env string, n, slots int, interval time.Duration) *simAgents {
	t.Helper()
	s := &simAgents{t: t, subj: messages.NewSubjects(""), index: map[string]int{}, slots: slots, env: env,
		acked: make([]atomic.Bool, n), stop: make(chan struct{})}
	// A backend's credentials: the only role that may use every agent's
	// subjects.
	s.nc = connectAs(t, url, "simulated-agents", as(t, url, natsauth.RoleBackend, "simagents"))
	for i := range n {
		id := fmt.Sprintf("sim%04d", i)
		s.ids = append(s.ids, id)
		s.index[id] = i
		s.session = append(s.session, fmt.Sprintf("simsession-%d-%d", time.Now().UnixNano(), i))
	}
	for range simWorkers {
		ch := make(chan *nats.Msg, 4096)
		s.work = append(s.work, ch)
		s.wg.Go(func() {
			for {
				select {
				case <-s.stop:
					return
				case m := <-ch:
					s.handle(m)
				}
			}
		})
	}
	sub, err := s.nc.Subscribe(s.subj.Agent("*"), func(m *nats.Msg) {
		if i, ok := s.index[strings.TrimPrefix(m.Subject, s.subj.Agent(""))]; ok {
			select {
			case s.work[i%simWorkers] <- m:
			case <-s.stop:
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	if err := s.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	s.helloAll()
	s.wg.Go(func() { s.heartbeat(interval) })
	return s
}

// helloAll says hello for every agent not registered yet (again: a hello
// of the same session is harmless).
func (s *simAgents) helloAll() {
	for i := range s.ids {
		if !s.acked[i].Load() {
			s.helloOne(i)
		}
	}
}

func (s *simAgents) helloOne(i int) {
	envs := map[string]map[string]messages.EnvironmentInfo{"docker": {s.env: {ID: "noop:docker/" + s.env, Title: s.env, Advertised: true}}}
	s.send(s.ids[i], &messages.AgentHello{ProtocolVersion: messages.ProtocolVersion, FriendlyName: s.ids[i],
		AvailableJobSlots: s.slots, AvailableEnvironments: envs, Session: s.session[i]})
}

// heartbeat pings for every agent once per interval, a tenth of them at a
// time, as agents started at different times would.
func (s *simAgents) heartbeat(interval time.Duration) {
	tick := time.NewTicker(interval / 10)
	defer tick.Stop()
	next := 0
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		for range (len(s.ids) + 9) / 10 {
			s.send(s.ids[next], &messages.Ping{Session: s.session[next]})
			next = (next + 1) % len(s.ids)
		}
	}
}

func (s *simAgents) send(id string, m messages.Message) {
	data, err := messages.Encode(m)
	if err == nil {
		err = s.nc.Publish(s.subj.BackendAgent(id), data)
	}
	if err != nil {
		s.oddly(fmt.Sprintf("%s: send %s: %v", id, m.MessageName(), err))
	}
}

func (s *simAgents) oddly(what string) {
	s.odd.Add(1)
	s.lastOdd.Store(what)
}

// handle is one message from the backend to agent id.
func (s *simAgents) handle(m *nats.Msg) {
	id := strings.TrimPrefix(m.Subject, s.subj.Agent(""))
	items, err := messages.Split(m.Data)
	if err != nil {
		s.oddly(fmt.Sprintf("%s: undecodable batch: %v", id, err))
		return
	}
	for _, data := range items {
		s.handleOne(id, data)
	}
}

// handleOne is one message from the backend to agent id, alone or in a
// batch.
func (s *simAgents) handleOne(id string, data []byte) {
	i := s.index[id]
	msg, err := messages.Decode(data)
	if err != nil {
		s.oddly(fmt.Sprintf("%s: undecodable message: %v", id, err))
		return
	}
	switch msg := msg.(type) {
	case *messages.Ack:
		if msg.JobID == "" && msg.Session == s.session[i] && !s.acked[i].Swap(true) {
			s.registered.Add(1)
		}
	case *messages.Pong:
	case *messages.Unknown:
		// A ping that overtook a hello the backend had not handled yet:
		// say hello again, as an agent does.
		if s.acked[i].Swap(false) {
			s.registered.Add(-1)
		}
		s.helloOne(i)
	case *messages.BackendNewJob:
		s.jobs.Add(1)
		s.send(id, &messages.AgentJobStarted{JobID: msg.JobID, Attempt: msg.Attempt})
		s.send(id, &messages.AgentJobDone{JobID: msg.JobID, Attempt: msg.Attempt, JobResult: messages.JobResult{
			Result: messages.Result{Status: messages.StatusSuccess, Text: "noop"}, Grade: 100}})
	default:
		s.oddly(fmt.Sprintf("%s: unexpected %s %+v", id, msg.MessageName(), msg))
	}
}

// waitRegistered says hello again every second until every agent is
// registered, for at most d.
func (s *simAgents) waitRegistered(d time.Duration) {
	s.t.Helper()
	for end := time.Now().Add(d); s.registered.Load() < int64(len(s.ids)); {
		if time.Now().After(end) {
			s.t.Fatalf("%d of %d simulated agents registered in %v", s.registered.Load(), len(s.ids), d)
		}
		for range 10 {
			if s.registered.Load() == int64(len(s.ids)) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		s.helloAll()
	}
}

// close stops the heartbeats and the workers, and fails the test if an
// agent got what an honest one never gets.
func (s *simAgents) close() {
	close(s.stop)
	s.wg.Wait()
	s.nc.Close()
	if n := s.odd.Load(); n > 0 {
		s.t.Errorf("simulated agents: %d odd messages, the last: %v", n, s.lastOdd.Load())
	}
}
