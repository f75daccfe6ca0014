package bridge

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/tests/testrig"
)

const wait = 30 * time.Second

// rig is a backend, agents (the fake runtime by default), and a bridge over
// a task folder with course "algo", task "sort".
type rig struct {
	sys        *testrig.System
	endpoint   string
	tasks      string
	stopBridge func()
	bridge     *Bridge
	client     *frontendclient.Client // the bridge's
	// bridgeOpts, if set, changes the options of the next startBridge.
	bridgeOpts func(*Options)
}

func newRig(t *testing.T) *rig { return newRigWith(t, 1, 1, nil, false) }

// newRigWith has agents agents of slots slots each, with the runtime
// newRuntime makes (nil: fake), and a backend in memory or, durable, on a
// journal that a restarted backend replays.
// Each of more changes the backend's configuration, on every start.
func newRigWith(t *testing.T, agents, slots int, newRuntime func() containers.Runtime, durable bool, more ...func(*backend.Config)) *rig {
	t.Helper()
	opts := testrig.Options{
		Durable: durable,
		Backend: func(c *backend.Config) {
			c.HeartbeatInterval = 100 * time.Millisecond
			if durable {
				// As in production: jobs wait a while for agents to
				// come back after a backend restart.
				c.EnvironmentGrace = 30 * time.Second
			}
			for _, f := range more {
				f(c)
			}
		},
	}
	for i := range agents {
		a := testrig.Agent{Config: agent.Config{ID: fmt.Sprintf("a%d", i+1), Name: fmt.Sprintf("agent %d", i+1), Slots: slots,
			HeartbeatInterval: 50 * time.Millisecond}}
		if i == 0 {
			a.Config.Name = "agent one"
		}
		a.Runtime = fake.New(fake.Options{Environments: map[string][]string{"docker": {"default", "cpp"}}})
		if newRuntime != nil {
			a.Runtime = newRuntime()
		}
		opts.Agents = append(opts.Agents, a)
	}
	r := &rig{sys: testrig.Start(t, opts)}

	tasks := t.TempDir()
	for _, d := range []string{"algo/sort", "algo/$common"} {
		if err := os.MkdirAll(filepath.Join(tasks, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(tasks, "algo/sort/run"), []byte("#!/bin/sh\nfeedback-result success\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.tasks = tasks
	r.startBridge(t)
	r.waitAgents(t, agents)
	return r
}

// waitAgents waits until the backend knows n agents and the bridge's
// client knows their environments. The rig's backend has no grace for
// environments (testrig): a job sent before the agents' hello ended as
// crash, "no agent offers the environment" (CI, once, with the Docker
// suites loading the machine); and a ClientHello answered before the
// bridge heard of them lists none.
func (r *rig) waitAgents(t *testing.T, n int) {
	t.Helper()
	cl, err := frontendclient.New(context.Background(), r.sys.Connect("rig-wait"),
		frontendclient.Options{Name: "rig-wait", ClientID: "rig-wait", Log: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	testutil.Eventually(t, wait, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		q, err := cl.Queue(ctx)
		return err == nil && len(q.Agents) == n && (n == 0 || len(r.client.Environments()) > 0)
	}, "%d agents registered, their environments known to the bridge", n)
}

// startBridge starts a bridge process (its own client, the rig's client
// id) on a new endpoint.
func (r *rig) startBridge(t *testing.T) *rig {
	t.Helper()
	r.endpoint = fmt.Sprintf("tcp://127.0.0.1:%d", testutil.FreePort(t))
	var br *Bridge
	cl, err := frontendclient.New(context.Background(), r.sys.Connect("bridge"),
		NewClientOptions(frontendclient.Options{Name: "bridge", ClientID: "inginious-bridge-test", Log: testutil.Logger(t)}, &br))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Listen: r.endpoint, TasksDir: r.tasks, Log: testutil.Logger(t).With("component", "bridge")}
	if r.bridgeOpts != nil {
		r.bridgeOpts(&opts)
	}
	br = New(cl, opts)
	r.bridge, r.client = br, cl
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx) }()
	r.stopBridge = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bridge: %v", err)
		}
		cl.Close()
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			r.stopBridge()
		}
	})
	return r
}

// webappClient is INGInious' client side: a DEALER socket sending
// msgpack maps with "@type".
type webappClient struct {
	t   *testing.T
	sck zmq4.Socket
}

func (r *rig) dial(t *testing.T) *webappClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sck := zmq4.NewDealer(ctx, zmq4.WithDialerRetry(50*time.Millisecond), zmq4.WithTimeout(5*time.Second))
	t.Cleanup(func() { sck.Close(); cancel() })
	if err := sck.Dial(r.endpoint); err != nil {
		t.Fatal(err)
	}
	return &webappClient{t: t, sck: sck}
}

// pingEverySecond pings the bridge every second until the test ends, as
// INGInious' client does: the bridge hands a result only to a webapp
// heard from within aliveFor.
func (c *webappClient) pingEverySecond() {
	ping, err := msgpack.Marshal(map[string]any{"@type": "Ping"})
	if err != nil {
		c.t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	c.t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = c.sck.Send(zmq4.NewMsg(ping))
			}
		}
	}()
}

func (c *webappClient) sendRaw(b []byte) {
	c.t.Helper()
	if err := c.sck.Send(zmq4.NewMsg(b)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *webappClient) send(typ string, fields map[string]any) {
	c.t.Helper()
	m := map[string]any{"@type": typ}
	for k, v := range fields {
		m[k] = v
	}
	b, err := msgpack.Marshal(m)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

// recv reads the next message, skipping the types in skip.
func (c *webappClient) recv(skip ...string) map[string]any {
	c.t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		// The socket's Recv may wait for ever: the test gives up on it
		// (and the socket's cleanup ends it).
		got := make(chan zmq4.Msg, 1)
		go func() {
			if msg, err := c.sck.Recv(); err == nil {
				got <- msg
			} else {
				close(got)
			}
		}()
		var msg zmq4.Msg
		select {
		case m, ok := <-got:
			if !ok {
				continue // the socket's timeout: try again
			}
			msg = m
		case <-deadline.C:
			c.t.Fatal("no message")
		}
		var m map[string]any
		if err := msgpack.Unmarshal(msg.Frames[len(msg.Frames)-1], &m); err != nil {
			c.t.Fatalf("not msgpack: %v", err)
		}
		skipped := false
		for _, s := range skip {
			if m["@type"] == s {
				skipped = true
			}
		}
		if !skipped {
			return m
		}
	}
}

func newJobFields(id string, course any, fakeBehaviour map[string]any) map[string]any {
	return map[string]any{
		"job_id": id, "priority": 0, "course_id": course, "task_id": "sort",
		"task_problems": map[string]any{}, "inputdata": map[string]any{"q1": "x", "@state": "", "@fake": fakeBehaviour},
		"environment_type": "docker", "environment": "default",
		"environment_parameters": map[string]any{"limits": map[string]any{"time": 10, "memory": 128}},
		"debug":                  false, "launcher": "Frontend - alice",
	}
}

func TestBridgeProtocol(t *testing.T) {
	r := newRig(t)
	c := r.dial(t)

	// Before hello (a webapp whose socket reconnected after the bridge
	// restarted): taken as a hello, where INGInious' backend answers
	// Unknown (webapprestart_test.go).
	c.send("Ping", nil)
	if m := c.recv(); m["@type"] != "BackendUpdateEnvironments" {
		t.Fatalf("ping before hello: %v", m)
	}
	if m := c.recv(); m["@type"] != "Pong" {
		t.Fatalf("ping before hello: %v", m)
	}
	c.send("ClientHello", map[string]any{"name": "me"})
	envs := c.recv()
	if envs["@type"] != "BackendUpdateEnvironments" || fmt.Sprint(envs["available_environments"]) != "map[docker:[cpp default]]" {
		t.Fatalf("hello: %v", envs)
	}
	c.send("Ping", nil)
	if m := c.recv(); m["@type"] != "Pong" {
		t.Fatalf("ping: %v", m)
	}

	// A job on a task folder, with INGInious' result fields.
	c.send("ClientNewJob", newJobFields("11111111-1111-1111-1111-111111111111", "algo", map[string]any{
		"result": "failed", "text": "almost", "grade": 42.5, "state": "s2",
		"problems": map[string]any{"q1": map[string]any{"status": "success", "text": "ok"}},
		"custom":   map[string]any{"score": 3}}))
	if m := c.recv("BackendUpdateEnvironments"); m["@type"] != "BackendJobStarted" || m["job_id"] != "11111111-1111-1111-1111-111111111111" {
		t.Fatalf("started: %v", m)
	}
	done := c.recv("BackendUpdateEnvironments")
	if done["@type"] != "BackendJobDone" || fmt.Sprint(done["result"]) != "[failed almost]" || done["grade"] != 42.5 ||
		done["state"] != "s2" || fmt.Sprint(done["problems"]) != "map[q1:[success ok]]" || fmt.Sprint(done["custom"].(map[string]any)["score"]) != "3" || done["archive"] != nil || done["stdout"] != nil {
		t.Fatalf("done: %#v", done)
	}

	// The older taskset_id works too; a missing task is a crash result.
	fields := newJobFields("22222222-2222-2222-2222-222222222222", nil, map[string]any{})
	fields["taskset_id"] = "algo"
	delete(fields, "course_id")
	c.send("ClientNewJob", fields)
	if m := c.recv("BackendUpdateEnvironments", "BackendJobStarted"); m["@type"] != "BackendJobDone" || m["result"].([]any)[0] != "success" {
		t.Fatalf("taskset_id job: %v", m)
	}
	fields = newJobFields("33333333-3333-3333-3333-333333333333", "algo", map[string]any{})
	fields["task_id"] = "nope"
	c.send("ClientNewJob", fields)
	if m := c.recv("BackendUpdateEnvironments"); m["@type"] != "BackendJobDone" || m["result"].([]any)[0] != "crash" {
		t.Fatalf("missing task: %v", m)
	}

	// A hanging job: in the queue snapshot, then killed.
	c.send("ClientNewJob", newJobFields("44444444-4444-4444-4444-444444444444", "algo", map[string]any{"hang": true}))
	c.recv("BackendUpdateEnvironments") // started
	c.send("ClientGetQueue", nil)
	q := c.recv("BackendUpdateEnvironments")
	running, _ := q["jobs_running"].([]any)
	if q["@type"] != "BackendGetQueue" || len(running) != 1 {
		t.Fatalf("queue: %v", q)
	}
	row := running[0].([]any)
	if row[0] != "44444444-4444-4444-4444-444444444444" || row[1] != true || row[2] != "agent one" || row[3] != "algo/sort" ||
		row[4] != "Frontend - alice" || fmt.Sprint(row[6]) != "10" {
		t.Errorf("running row %v", row)
	}
	c.send("ClientKillJob", map[string]any{"job_id": "44444444-4444-4444-4444-444444444444"})
	if m := c.recv("BackendUpdateEnvironments"); m["@type"] != "BackendJobDone" || m["result"].([]any)[0] != "killed" {
		t.Fatalf("kill: %v", m)
	}

	// Garbage is answered, and the bridge goes on.
	for _, bad := range [][]byte{{0xc1}, []byte("hello"), mustPack(t, map[string]any{"no": "type"}),
		mustPack(t, map[string]any{"@type": "ClientNewJob", "job_id": "55555555-5555-5555-5555-555555555555", "priority": "high"}),
		mustPack(t, map[string]any{"@type": "BackendNewJob"}), nested(100000)} {
		c.sendRaw(bad)
		m := c.recv("BackendUpdateEnvironments")
		if m["@type"] != "Unknown" && !(m["@type"] == "BackendJobDone" && m["job_id"] == "55555555-5555-5555-5555-555555555555") {
			t.Errorf("answer to %q: %v", bad[:min(len(bad), 20)], m)
		}
	}
	c.send("Ping", nil)
	if m := c.recv("BackendUpdateEnvironments"); m["@type"] != "Pong" {
		t.Fatalf("ping after garbage: %v", m)
	}
}

func mustPack(t *testing.T, v any) []byte {
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nested is n nested one-element arrays.
func nested(n int) []byte {
	b := make([]byte, n+1)
	for i := range n {
		b[i] = 0x91
	}
	b[n] = 0xc0
	return b
}

// TestBridgeResultWaitsForTheWebapp: a result that finds no webapp is
// kept by ingo and reaches the webapp once it is back (a new socket).
func TestBridgeResultWaitsForTheWebapp(t *testing.T) {
	r := newRig(t)
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	c.recv()
	c.send("ClientNewJob", newJobFields("66666666-6666-6666-6666-666666666666", "algo", map[string]any{"sleep": "1s", "text": "late"}))
	c.recv("BackendUpdateEnvironments") // started
	c.sck.Close()                       // the webapp goes away
	time.Sleep(aliveFor + time.Second)
	c2 := r.dial(t)
	c2.send("ClientHello", map[string]any{"name": "me"})
	c2.pingEverySecond()
	m := c2.recv("BackendUpdateEnvironments", "Pong")
	if m["@type"] != "BackendJobDone" || m["job_id"] != "66666666-6666-6666-6666-666666666666" || fmt.Sprint(m["result"]) != "[success late]" {
		t.Fatalf("after reconnecting: %v", m)
	}
}

// TestBridgeSSHAndRestart: SSH credentials reach the webapp in INGInious'
// shape; a bridge that restarts (same client id) loses none of the jobs
// the webapp sent through the old one.
func TestBridgeSSHAndRestart(t *testing.T) {
	r := newRig(t)
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	c.recv()
	fields := newJobFields("77777777-7777-7777-7777-777777777777", "algo", map[string]any{"ssh": true})
	fields["debug"] = "ssh"
	c.send("ClientNewJob", fields)
	m := c.recv("BackendUpdateEnvironments", "BackendJobStarted")
	if m["@type"] != "BackendJobSSHDebug" || m["job_id"] != "77777777-7777-7777-7777-777777777777" || m["user"] == "" ||
		m["password"] == "" || m["host"] == "" || m["port"] == nil {
		t.Fatalf("ssh: %v", m)
	}
	if m := c.recv("BackendUpdateEnvironments"); m["@type"] != "BackendJobDone" {
		t.Fatalf("ssh job done: %v", m)
	}

	// A job that runs while its bridge goes, and a new bridge comes.
	c.send("ClientNewJob", newJobFields("88888888-8888-8888-8888-888888888888", "algo", map[string]any{"sleep": "2s", "text": "survived"}))
	c.recv("BackendUpdateEnvironments") // started
	r.stopBridge()
	r2 := r.startBridge(t)
	c2 := r2.dial(t)
	c2.send("ClientHello", map[string]any{"name": "me"})
	c2.pingEverySecond()
	m = c2.recv("BackendUpdateEnvironments", "Pong")
	if m["@type"] != "BackendJobDone" || m["job_id"] != "88888888-8888-8888-8888-888888888888" || fmt.Sprint(m["result"]) != "[success survived]" {
		t.Fatalf("after the bridge restarted: %v", m)
	}
}

// TestBridgeBackendRestart: the ingo backend restarts (on its journal)
// while the webapp's jobs run and wait: the webapp, still connected to
// the bridge, gets every result.
func TestBridgeBackendRestart(t *testing.T) {
	r := newRigWith(t, 1, 1, nil, true)
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	c.recv()
	go func() {
		for range 60 {
			time.Sleep(time.Second)
			_ = c.sck.Send(zmq4.NewMsg(mustPack(t, map[string]any{"@type": "Ping"})))
		}
	}()
	ids := []string{"99999999-0000-0000-0000-000000000001", "99999999-0000-0000-0000-000000000002"}
	for _, id := range ids { // one runs on the single slot, one waits
		c.send("ClientNewJob", newJobFields(id, "algo", map[string]any{"sleep": "2s", "text": "kept " + id[len(id)-1:]}))
	}
	if m := c.recv("BackendUpdateEnvironments", "Pong"); m["@type"] != "BackendJobStarted" {
		t.Fatalf("first: %v", m)
	}
	r.sys.StopBackend()
	r.sys.StartBackend(true)
	got := map[string]string{}
	for len(got) < len(ids) {
		m := c.recv("BackendUpdateEnvironments", "Pong", "BackendJobStarted")
		if m["@type"] == "BackendJobDone" {
			got[m["job_id"].(string)] = fmt.Sprint(m["result"])
		}
	}
	for _, id := range ids {
		if got[id] != "[success kept "+id[len(id)-1:]+"]" {
			t.Errorf("job %s: %q", id, got[id])
		}
	}
}

// TestBridgeJobRefusedOnResubmissionEnds: a backend without its journal
// restarts and loses the jobs; the bridge's client submits them again,
// and the backend refuses some for good (here its course's waiting cap).
// Before, the bridge dropped such a job without a word: the webapp waited
// for its result forever, and the bridge kept following it.
func TestBridgeJobRefusedOnResubmissionEnds(t *testing.T) {
	capNow := 0
	r := newRigWith(t, 1, 1, nil, false, func(c *backend.Config) {
		c.MaxWaitingPerCourse = capNow
		c.EnvironmentGrace = time.Hour // the jobs wait for an environment nobody offers
	})
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	c.recv()
	ids := []string{"99999999-0000-0000-0000-000000000011", "99999999-0000-0000-0000-000000000012",
		"99999999-0000-0000-0000-000000000013"}
	for _, id := range ids {
		job := newJobFields(id, "algo", nil)
		job["environment"] = "nobody-offers-it"
		c.send("ClientNewJob", job)
	}
	testutil.Eventually(t, wait, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		q, err := r.client.Queue(ctx)
		return err == nil && len(q.JobsWaiting) == len(ids)
	}, "the jobs queued")
	r.sys.StopBackend()
	capNow = 1
	r.sys.StartBackend(false)
	// One is queued again; the other two are refused, and their crash
	// reaches the webapp.
	for range 2 {
		m := c.recv("BackendUpdateEnvironments", "Pong")
		res := fmt.Sprint(m["result"])
		if m["@type"] != "BackendJobDone" || !strings.HasPrefix(res, "[crash ") ||
			!strings.Contains(res, "refused it when it was sent again") || !strings.Contains(res, "max-waiting-per-course") {
			t.Fatalf("got %v, want a crash saying the job was refused on resubmission", m)
		}
	}
	testutil.Eventually(t, wait, func() bool {
		r.bridge.mu.Lock()
		defer r.bridge.mu.Unlock()
		return len(r.bridge.jobs) == 1
	}, "the bridge still follows the refused jobs")
}

// TestBridgeQueueRefusalsAreNotALogFlood: a webapp asks for the queue as
// often as it likes, and the backend refuses snapshots past the bridge's
// share; each refusal was a log line (the webapp gets an empty queue).
func TestBridgeQueueRefusalsAreNotALogFlood(t *testing.T) {
	r := newRig(t)
	r.stopBridge()
	log, lines := testutil.CountingLogger()
	r.bridgeOpts = func(o *Options) { o.Log = log }
	r.startBridge(t)
	c := r.dial(t)
	c.send("ClientHello", map[string]any{"name": "me"})
	c.recv()
	const n = 600
	for range n {
		c.send("ClientGetQueue", nil)
	}
	for range n {
		if m := c.recv("BackendUpdateEnvironments", "Pong"); m["@type"] != "BackendGetQueue" {
			t.Fatalf("got %v", m)
		}
	}
	if got := lines.Load(); got > 50 {
		t.Fatalf("%d log lines for %d queue requests", got, n)
	}
}
