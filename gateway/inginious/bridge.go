package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-zeromq/zmq4"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/heapsize"
	"github.com/ingo-grader/ingo/internal/logging"
	"github.com/ingo-grader/ingo/messages"
)

// aliveFor is how recently a webapp must have sent something to count as
// connected (INGInious' client pings every second).
const aliveFor = 5 * time.Second

// forgetAfter is how long a silent webapp stays registered.
const forgetAfter = 10 * time.Minute

// Options configure a Bridge.
type Options struct {
	// Listen is the ZeroMQ endpoint, "tcp://HOST:PORT".
	Listen string `key:"listen" help:"ZeroMQ endpoint (tcp://HOST:PORT) where ingo inginious-bridge, and ingo up when set, serve INGInious' client protocol to an INGInious webapp; empty with ingo up: no bridge"`
	// Allow lists the addresses (IPs, or CIDR prefixes) a webapp may
	// connect from; empty: loopback only. INGInious' protocol has no
	// credentials: whoever reaches the port can watch the queue, submit,
	// kill and read results, so it is open to the webapps' hosts only.
	Allow []string `key:"allow" help:"addresses (IPs or CIDR prefixes such as 10.1.2.0/24) the INGInious webapps connect from; a connection from any other is closed at once. INGInious' protocol has no credentials: whoever reaches the port may submit, kill and read results. Empty: loopback only"`
	// TasksDir holds the webapp's courses: TasksDir/<course>/<task>.
	TasksDir string `key:"tasks-dir" help:"the INGInious webapp's task folder (<course>/<task>, and each course's $common), which the bridge reads jobs' tasks from"`
	// Log; nil discards.
	Log *slog.Logger `key:"-"`

	// MaxMessageBytes is the largest INGInious message a webapp may send
	// (0: 16 MiB). A ZeroMQ frame that announces more closes its
	// connection before anything is allocated for it.
	MaxMessageBytes int64 `key:"-"`
	// MaxConns bounds the connections open at once (0: 16), and
	// MaxConnsPerAddr those from one IP address (0: 4). A connection
	// over the bounds is closed at once.
	MaxConns        int `key:"-"`
	MaxConnsPerAddr int `key:"-"`
	// HandshakeTimeout bounds a new connection's ZeroMQ handshake (0: 10
	// s).
	HandshakeTimeout time.Duration `key:"-"`
	// MaxUnfinishedBytes bounds the INGInious messages of the jobs this
	// bridge follows and that have not finished (0:
	// DefaultMaxUnfinishedBytes): each counts its size, at least 2 KiB. A
	// job over the bound is refused at once with a crash result naming it.
	// Each such job is held in memory several times over, by the bridge
	// (its encoded submission, which it sends again after a loss), the
	// backend and NATS: without a bound a webapp that sent jobs faster than
	// they ran (a queue of 18 jobs of 4 MiB made ingo up 650 MiB) could
	// take every byte of the machine's memory, and with it NATS, the
	// backend and the agent of ingo up.
	MaxUnfinishedBytes int64 `key:"max-unfinished-bytes" unit:"bytes" check:"min=1048576" help:"most bytes the INGInious jobs the bridge follows and that have not finished may hold (their message's size, at least 2 KiB each, and their values decoded until they are submitted); a job over it is refused at once with a crash result naming this setting: each is held in memory by the bridge, the backend and NATS until it ends"`
}

// DefaultMaxUnfinishedBytes is Options.MaxUnfinishedBytes's default, the
// HTTP API's bound for one frontend.
const DefaultMaxUnfinishedBytes = 256 << 20

// minJobCharge is what a job counts against MaxUnfinishedBytes at least:
// a small one costs the backend and the bridge about that much.
const minJobCharge = 2 << 10

// Bridge serves INGInious' client protocol on a ZeroMQ ROUTER socket and
// runs the jobs on ingo through a frontendclient.
type Bridge struct {
	opts Options
	cl   *frontendclient.Client
	log  *slog.Logger
	// queueLog says why a webapp's queue requests got an empty queue, a
	// few lines a minute: a webapp asks as often as it likes, and the
	// backend refuses snapshots past the bridge's share.
	queueLog *slog.Logger
	sck      zmq4.Socket

	mu      sync.Mutex
	clients map[string]*webapp // by routing id
	jobs    map[string]*jobState
	// unfinished is what the jobs being submitted or followed count
	// against Options.MaxUnfinishedBytes.
	unfinished int64

	guard *guard

	sendMu sync.Mutex // one send at a time; guards sck
	wg     sync.WaitGroup
}

// jobState is a job of this process: who sent it, and whether its result
// went out (its events must not follow its result).
type jobState struct {
	mu    sync.Mutex
	owner string // routing id of the webapp that sent it
	done  bool
	// debug: the webapp asked for debug, so stdout and stderr go back as
	// strings even when empty (INGInious sends None only without debug).
	debug bool
	// drained is closed once the job's events before its result went out:
	// the client queues the result among them before it calls OnResult.
	drained chan struct{}
}

// webapp is one registered client socket.
type webapp struct {
	name     string
	lastSeen time.Time
}

// New makes a bridge over cl. cl's Options.OnResult must call
// Bridge.OnResult: use NewClientOptions.
func New(cl *frontendclient.Client, opts Options) *Bridge {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bridge{opts: opts, cl: cl, log: log, clients: map[string]*webapp{}, jobs: map[string]*jobState{},
		guard: newGuard(opts, log), queueLog: logging.Limited(log, time.Minute, 10)}
}

// Run listens and serves until ctx ends.
func (b *Bridge) Run(ctx context.Context) error {
	ep, err := listenEndpoint(b.opts.Listen)
	if err != nil {
		return err
	}
	if b.guard.allow, err = parseAllow(b.opts.Allow); err != nil {
		return err
	}
	// The guard reaches the transport through the socket's context.
	sck := zmq4.NewRouter(context.WithValue(ctx, guardKey{}, b.guard), zmq4.WithTimeout(10*time.Second))
	if err := sck.Listen(ep); err != nil {
		return fmt.Errorf("listen %s: %w", b.opts.Listen, err)
	}
	defer sck.Close()
	b.sendMu.Lock()
	b.sck = sck
	b.sendMu.Unlock()
	b.log.Info("INGInious bridge listening", "endpoint", b.opts.Listen, "tasks", b.opts.TasksDir)
	b.cl.OnEnvironments(func(envs map[string][]string) { b.broadcastEnvironments(envs) })
	defer b.wg.Wait()
	for {
		msg, err := sck.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			b.log.Debug("zmq receive", "err", err)
			continue
		}
		if len(msg.Frames) < 2 {
			b.log.Warn("INGInious frame without a message", "frames", len(msg.Frames))
			continue
		}
		// ROUTER: [identity, message]; an empty delimiter frame (REQ-style
		// peers) is skipped.
		id, body := string(msg.Frames[0]), msg.Frames[len(msg.Frames)-1]
		b.handle(ctx, id, body)
	}
}

// send writes one message to a webapp.
func (b *Bridge) send(id string, m any) error {
	data, err := encode(m)
	if err != nil {
		return err
	}
	b.sendMu.Lock()
	defer b.sendMu.Unlock()
	if b.sck == nil {
		return errNoWebapp
	}
	return b.sck.Send(zmq4.NewMsgFrom([]byte(id), data))
}

func (b *Bridge) handle(ctx context.Context, id string, body []byte) {
	typ, v, err := decode(body, b.opts.maxMessageBytes())
	b.mu.Lock()
	w := b.clients[id]
	if w != nil {
		w.lastSeen = time.Now()
	}
	b.mu.Unlock()
	if err != nil {
		b.log.Warn("malformed INGInious message", "peer", id, "type", typ, "err", err)
		if typ == tClientNewJob {
			// A job the webapp waits for: tell it, if its id can be read.
			if jid := jobIDOf(body); jid != "" {
				_ = b.send(id, crashDone(jid, "The job could not be read by the backend: "+err.Error()))
				return
			}
		}
		_ = b.send(id, empty{Type: tUnknown})
		return
	}
	if w == nil && typ != tClientHello {
		// INGInious' backend answers Unknown here: it lost every job in
		// its restart, and its client, told so, aborts every job it waits
		// for ("Backend unavailable, retry later"). This bridge lost none
		// (ingo keeps them): a webapp it does not know is one whose socket
		// reconnected after the bridge restarted, and goes on without a
		// hello. Taken as having said one, it gets its jobs' results.
		b.register(id, "")
	}
	switch m := v.(type) {
	case *clientHello:
		b.register(id, m.Name)
	case *clientNewJob:
		// Counted here, before a goroutine holds it: the webapp may send
		// jobs much faster than ingo takes them.
		// Its decoded values count too, until they are sent: a job's
		// goroutine holds them while it waits for its task to be
		// packed, and a frame of {"":{}} holds a hundred times its
		// bytes decoded (forty of 200 KB took the bridge to 2 GB).
		kept := max(int64(len(body)), minJobCharge)
		charge := max(kept, heapsize.Of(m.InputData)+heapsize.Of(m.TaskProblems)+heapsize.Of(m.EnvironmentParameters))
		if held, ok := b.charge(charge); !ok {
			b.refuseJob(id, m.JobID, fmt.Sprintf("The INGInious bridge follows jobs not finished yet of %d bytes, and this one (%d bytes) would pass its bound of %d (inginious.max-unfinished-bytes): submit it again once some have run.",
				held, charge, b.maxUnfinished()))
			return
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer b.uncharge(kept)
			b.newJob(ctx, id, m, func() { b.uncharge(charge - kept) })
		}()
	case *clientKillJob:
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			kctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := b.cl.KillJob(kctx, m.JobID); err != nil {
				b.log.Info("kill", "job", cutName(m.JobID), "err", err)
			}
		}()
	default:
		switch typ {
		case tPing:
			_ = b.send(id, empty{Type: tPong})
		case tClientGetQueue:
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				b.queue(ctx, id)
			}()
		default:
			b.log.Warn("unknown INGInious message type", "peer", id, "type", typ)
			_ = b.send(id, empty{Type: tUnknown})
		}
	}
}

// register records the webapp at routing identity id and sends it the
// environments, as INGInious' backend answers a hello.
func (b *Bridge) register(id, name string) {
	b.mu.Lock()
	for other, w := range b.clients {
		// Webapps long gone are forgotten (each connection may carry
		// an identity of its own).
		if time.Since(w.lastSeen) > forgetAfter {
			delete(b.clients, other)
		}
	}
	// A webapp's name is for logs: one of a few MiB, kept for
	// forgetAfter per connection, would only cost memory.
	b.clients[id] = &webapp{name: cutName(name), lastSeen: time.Now()}
	b.mu.Unlock()
	b.log.Info("INGInious client connected", "peer", id, "name", cutName(name))
	_ = b.send(id, backendUpdateEnvironments{AvailableEnvironments: b.cl.Environments(), Type: tUpdateEnvs})
}

func (b *Bridge) maxUnfinished() int64 {
	return orDefault(b.opts.MaxUnfinishedBytes, DefaultMaxUnfinishedBytes)
}

// charge counts n bytes of a job in, if the bound leaves room for them;
// it returns what was held before.
func (b *Bridge) charge(n int64) (int64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	held := b.unfinished
	if held+n > b.maxUnfinished() {
		return held, false
	}
	b.unfinished += n
	return held, true
}

func (b *Bridge) uncharge(n int64) {
	b.mu.Lock()
	b.unfinished -= n
	b.mu.Unlock()
}

// broadcastEnvironments tells every webapp the environments, as
// INGInious' backend does after each agent hello.
func (b *Bridge) broadcastEnvironments(envs map[string][]string) {
	b.mu.Lock()
	ids := make([]string, 0, len(b.clients))
	for id := range b.clients {
		ids = append(ids, id)
	}
	b.mu.Unlock()
	for _, id := range ids {
		_ = b.send(id, backendUpdateEnvironments{AvailableEnvironments: envs, Type: tUpdateEnvs})
	}
}

// alive lists the webapps that sent something lately, none while no
// connection is open.
func (b *Bridge) alive() []string {
	if !b.connected() {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for id, w := range b.clients {
		if time.Since(w.lastSeen) < aliveFor {
			ids = append(ids, id)
		}
	}
	return ids
}

// connected tells whether any webapp connection is open.
func (b *Bridge) connected() bool {
	return b.guard.served.Load() > 0
}

// errNoWebapp: a result waits for a webapp (the backend sends it again).
var errNoWebapp = errors.New("no INGInious webapp is connected")

// OnResult hands a result to the webapp that submitted the job, or to
// every live webapp when that one is gone or unknown (a job of an earlier
// bridge process); it fails while none is alive, so that ingo keeps the
// result and sends it again.
func (b *Bridge) OnResult(r *messages.BackendJobDone) error {
	b.mu.Lock()
	js := b.jobs[r.JobID]
	b.mu.Unlock()
	if js == nil {
		js = &jobState{}
	} else {
		select {
		case <-js.drained:
		case <-time.After(5 * time.Second):
		}
	}
	js.mu.Lock()
	defer js.mu.Unlock()
	b.mu.Lock()
	w := b.clients[js.owner]
	ownerAlive := w != nil && time.Since(w.lastSeen) < aliveFor
	b.mu.Unlock()
	targets := []string{js.owner}
	if !ownerAlive || !b.connected() {
		targets = b.alive()
	}
	if len(targets) == 0 {
		return errNoWebapp
	}
	done := jobDone(r, js.debug)
	var errs []error
	for _, id := range targets {
		errs = append(errs, b.send(id, done))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	js.done = true
	b.mu.Lock()
	delete(b.jobs, r.JobID)
	b.mu.Unlock()
	return nil
}

// NewClientOptions completes frontendclient options for a bridge: b's
// OnResult (b is set once the client exists, see SetClient).
func NewClientOptions(opts frontendclient.Options, b **Bridge) frontendclient.Options {
	opts.OnResult = func(r *messages.BackendJobDone) error {
		if *b == nil {
			return errNoWebapp
		}
		return (*b).OnResult(r)
	}
	return opts
}

// cutText bounds a text the bridge makes of what a webapp sent at 4 KiB,
// at a character's start.
func cutText(s string) string { return cutAt(s, 4<<10) }

// cutName bounds a webapp's name at messages.MaxNameLength bytes, at a
// character's start.
func cutName(s string) string { return cutAt(s, messages.MaxNameLength) }

func cutAt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
