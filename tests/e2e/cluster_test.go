package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

const wait = 10 * time.Second

// cluster is a whole ingo on one embedded NATS: a backend, agents with the
// fake runtime, clients.
type cluster struct {
	t       *testing.T
	nats    *testutil.NATS
	backend *backend.Backend
	agents  map[string]*runningAgent
	mu      sync.Mutex
}

type runningAgent struct {
	agent   *agent.Agent
	runtime *fake.Runtime
	nc      *nats.Conn
	proxy   *testutil.Proxy // set when the agent talks through a proxy
	stop    context.CancelFunc
	done    chan error
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, nats: testutil.StartNATS(t), agents: map[string]*runningAgent{}}
	nc := c.connect("backend", c.nats.URL)
	cfg := backend.DefaultConfig()
	cfg.EnvironmentGrace = 0
	cfg.HeartbeatInterval = 100 * time.Millisecond
	cfg.HeartbeatMisses = 20 // 2 s of silence: wide enough for a loaded CI machine
	b, err := backend.New(nc, cfg, testutil.Logger(t).With("component", "backend"))
	if err != nil {
		t.Fatal(err)
	}
	c.backend = b
	c.run("backend", b.Run)
	// As `ingo backend` does on start: the task bundle store is the
	// backend's to create (agents may only read it).
	if _, err := bundle.EnsureStore(t.Context(), nc, "", bundle.StoreConfig{}); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *cluster) connect(name, url string) *nats.Conn {
	c.t.Helper()
	nc, err := natsconn.Connect(natsconn.Options{URL: url, Name: name, Log: testutil.Logger(c.t).With("conn", name), ReconnectWait: 50 * time.Millisecond, Creds: testutil.Superuser(c.t)})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(nc.Close)
	return nc
}

// run starts a component; it is stopped (and must end cleanly) when the
// test ends.
func (c *cluster) run(name string, fn func(context.Context) error) (context.CancelFunc, chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	c.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				c.t.Errorf("%s: %v", name, err)
			}
			done <- err
		case <-time.After(wait):
			c.t.Errorf("%s did not stop within %v", name, wait)
		}
	})
	return cancel, done
}

// agent starts an agent offering envs ("docker/default").
func (c *cluster) agent(id string, slots int, viaProxy bool, envs ...string) *runningAgent {
	c.t.Helper()
	byType := map[string][]string{}
	for _, e := range envs {
		typ, name, _ := strings.Cut(e, "/")
		byType[typ] = append(byType[typ], name)
	}
	rt := fake.New(fake.Options{Environments: byType})
	url := c.nats.URL
	var proxy *testutil.Proxy
	if viaProxy {
		proxy = testutil.StartProxy(c.t, c.nats.URL[len("nats://"):])
		url = proxy.URL()
	}
	nc := c.connect("agent-"+id, url)
	a, err := agent.New(nc, rt, nil, agent.Config{ID: id, Name: "agent " + id, Slots: slots,
		HeartbeatInterval: 50 * time.Millisecond, ResultRetry: 200 * time.Millisecond}, testutil.Logger(c.t).With("agent", id))
	if err != nil {
		c.t.Fatal(err)
	}
	ra := &runningAgent{agent: a, runtime: rt, nc: nc, proxy: proxy}
	ra.stop, ra.done = c.run("agent "+id, a.Run)
	c.mu.Lock()
	c.agents[id] = ra
	c.mu.Unlock()
	return ra
}

func (c *cluster) client(name string) *frontendclient.Client {
	c.t.Helper()
	nc := c.connect("client-"+name, c.nats.URL)
	cl, err := frontendclient.New(context.Background(), nc, frontendclient.Options{Name: name, ClientID: name,
		PingInterval: 100 * time.Millisecond, Log: testutil.Logger(c.t).With("client", name)})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := cl.WaitReady(ctx); err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// waitEnvironments waits until the client sees every environment given.
func waitEnvironments(t *testing.T, cl *frontendclient.Client, envs ...string) {
	t.Helper()
	testutil.Eventually(t, wait, func() bool {
		have := cl.Environments()
		for _, e := range envs {
			found := false
			for typ, names := range have {
				for _, n := range names {
					if typ+"/"+n == e {
						found = true
					}
				}
			}
			if !found {
				return false
			}
		}
		return true
	}, "environments %v not advertised", envs)
}

// job builds a request for env ("docker/default") with fake behaviour.
func job(id, env string, prio int, behaviour map[string]any) frontendclient.JobRequest {
	typ, name, _ := strings.Cut(env, "/")
	input := map[string]any{"q1": "answer of " + id, "@state": "before"}
	if behaviour != nil {
		input["@fake"] = behaviour
	}
	return frontendclient.JobRequest{ClientNewJob: messages.ClientNewJob{
		JobDescription: messages.JobDescription{JobID: id, CourseID: "course", TaskID: "task",
			EnvironmentType: typ, Environment: name, InputData: input},
		Priority: prio, Launcher: "e2e"}}
}

func submit(t *testing.T, cl *frontendclient.Client, req frontendclient.JobRequest) *frontendclient.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	j, err := cl.NewJob(ctx, req)
	if err != nil {
		t.Fatalf("submit %s: %v", req.JobID, err)
	}
	return j
}

func result(t *testing.T, j *frontendclient.Job) *messages.BackendJobDone {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	r, err := j.Wait(ctx)
	if err != nil {
		t.Fatalf("job %s: %v", j.ID(), err)
	}
	return r
}
