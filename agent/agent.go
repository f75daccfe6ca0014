package agent

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"golang.org/x/sync/semaphore"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/internal/logging"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// Bundles gives the task folders jobs refer to by content hash, each from
// the bundles of the client that submitted the job (owner), never from
// another's. It is implemented by internal/bundle.Cache.
type Bundles interface {
	Get(ctx context.Context, owner, digest string, meta uint64) (containers.TaskBundle, error)
}

// Agent serves one runtime to the backend. Make it with New and serve with
// Run; it is used once.
type Agent struct {
	nc      *nats.Conn
	rt      containers.Runtime
	bundles Bundles
	cfg     Config
	log     *slog.Logger
	// peerLog is log at most 100 lines a minute, for messages dropped on
	// the agent's subject: a frontend can have the NATS server send there
	// the acknowledgements of its own publishes (a reply subject of its
	// choice), a line each before.
	peerLog *slog.Logger
	subj    messages.Subjects
	inbox   string // the agent's subject: where the backend talks to it
	session string
	// memory admits attempts by their memory limit; nil when unbounded.
	memory *semaphore.Weighted

	stats   counters
	started atomic.Bool
	// out sends everything for the backend while Run serves, many
	// messages in one where they come together (natsconn.Coalescer).
	out atomic.Pointer[natsconn.Coalescer]

	// helloReq and changed wake the Run loop, cleanNow the cleanup loop;
	// they coalesce (capacity 1).
	helloReq chan struct{}
	changed  chan struct{}
	cleanNow chan struct{}

	// jobsCtx is the parent of every attempt's context. It does not end
	// with Run's context, so that attempts can outlive it by ShutdownGrace;
	// cancelJobs(containers.ErrShutdown) ends them all.
	jobsCtx    context.Context
	cancelJobs context.CancelCauseFunc

	// jobs counts attempt goroutines; handlers counts NATS callbacks in
	// flight. Add is only called under mu while stopping (jobs) or closed
	// (handlers) is false, so Wait after setting them is final.
	jobs     sync.WaitGroup
	handlers sync.WaitGroup
	// idle hands an attempt to a runner waiting for one (runner.go);
	// unbuffered, so a send succeeds only when one waits. runners counts
	// them; they end once jobsCtx is, and Run waits for them.
	idle    chan *attempt
	runners sync.WaitGroup

	// mu guards everything below. It is a leaf lock: nothing is published
	// and no runtime method is called while holding it.
	mu       sync.Mutex
	attempts map[messages.JobAttempt]*attempt // running, at most cfg.Slots besides instant ones
	// instant counts the attempts of an instant environment type among
	// attempts (messages.Instant): up to messages.InstantSlots, beside
	// the slots.
	instant  int
	results  map[messages.JobAttempt]*pending // sent, not yet answered
	finished recent                           // attempts with a result produced
	lastSeq  uint64                           // highest BackendNewJob.Seq seen
	envs     map[string]map[string]messages.EnvironmentInfo
	// confirmed is when the backend last named this session the
	// registered process of the agent id (see registered); refusedSince
	// when it began refusing it for another live process (zero: it does
	// not). giveUp ends Run's serving when the refusals last.
	confirmed    time.Time
	refusedSince time.Time
	giveUp       context.CancelCauseFunc
	stopping     bool // Run's context is done: no new attempts
	closed       bool // Run is returning: inbound messages are dropped

	// onHelloSent, for tests, runs between a hello and the resend that
	// follows it (set and read under mu).
	onHelloSent func()
}

// publish sends data, an encoded message, to the backend with the
// agent's subject as reply subject: through the Coalescer while Run
// serves, directly before and after (a result of an attempt that outlived
// Run still goes).
func (a *Agent) publish(data []byte) error {
	if out := a.out.Load(); out != nil {
		if err := out.Send(data); !errors.Is(err, natsconn.ErrCoalescerClosed) {
			return err
		}
	}
	subject := a.subj.BackendAgent(a.cfg.ID)
	if err := a.nc.PublishMsg(&nats.Msg{Subject: subject, Reply: a.inbox, Data: data}); err != nil {
		return fmt.Errorf("publish on %s: %w", subject, err)
	}
	return nil
}

// New makes an agent that talks over nc and runs jobs on rt. bundles may be
// nil: jobs with a TaskBundle then end in a crash that says so. log may be
// nil.
func New(nc *nats.Conn, rt containers.Runtime, bundles Bundles, cfg Config, log *slog.Logger) (*Agent, error) {
	if nc == nil || rt == nil {
		return nil, fmt.Errorf("%w: a NATS connection and a runtime are required", ErrInvalidConfig)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	subj := messages.NewSubjects(cfg.Prefix)
	var memory *semaphore.Weighted
	if cfg.Memory > 0 {
		memory = semaphore.NewWeighted(cfg.Memory)
	}
	log = log.With("agent", cfg.ID, "runtime", rt.Name())
	return &Agent{
		memory: memory,
		nc:     nc, rt: rt, bundles: bundles, cfg: cfg,
		log:      log,
		peerLog:  logging.Limited(log, time.Minute, 100),
		subj:     subj,
		inbox:    subj.Agent(cfg.ID),
		session:  rand.Text(),
		helloReq: make(chan struct{}, 1),
		changed:  make(chan struct{}, 1),
		cleanNow: make(chan struct{}, 1),
		idle:     make(chan *attempt),
		attempts: make(map[messages.JobAttempt]*attempt),
		results:  make(map[messages.JobAttempt]*pending),
		finished: newRecent(maxRemembered),
	}, nil
}

// Running lists the attempts running now, sorted.
func (a *Agent) Running() []messages.JobAttempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return sortedKeys(a.attempts)
}

// Run serves until ctx is done, then shuts down: it stops taking jobs
// (saying hello with no slots), lets running attempts finish for up to
// ShutdownGrace, cancels the others with containers.ErrShutdown, sends every
// result and waits up to FlushTimeout for the backend to acknowledge them,
// then closes the runtime. It returns nil after such a shutdown, and an error
// when it could not start. When the backend keeps refusing it because
// another process with the same agent id is live, Run stops the same way
// but at once, and returns a *ConflictError (ErrConflict).
func (a *Agent) Run(ctx context.Context) (err error) {
	if !a.started.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer func() {
		if cerr := a.rt.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("agent: close runtime: %w", cerr))
		}
	}()

	// What a previous process left behind goes once the backend accepted
	// this one (ack): until then, that process may be alive.
	envs, err := a.rt.Environments(ctx)
	if err != nil {
		return fmt.Errorf("agent: list environments: %w", err)
	}
	a.setEnvironments(envs)

	a.jobsCtx, a.cancelJobs = context.WithCancelCause(context.WithoutCancel(ctx))
	defer a.cancelJobs(containers.ErrShutdown)
	serving, giveUp := context.WithCancelCause(ctx)
	defer giveUp(nil)
	a.mu.Lock()
	a.giveUp = giveUp
	a.mu.Unlock()

	out := natsconn.NewCoalescer(a.nc, a.subj.BackendAgent(a.cfg.ID), a.inbox, func(n int, err error) {
		// Hellos, pings and results are sent again by their timers; the
		// rest is answered to by the backend's timeouts.
		a.stats.sendErrors.Add(uint64(n))
		a.log.Warn("send failed", "messages", n, "err", err)
	})
	a.out.Store(out)
	defer func() {
		a.out.Store(nil)
		out.Close()
	}()
	sub, err := a.nc.Subscribe(a.inbox, a.handle)
	if err != nil {
		return fmt.Errorf("agent: subscribe to %s: %w", a.inbox, err)
	}
	// A status listener, not a ReconnectHandler: the connection's handlers
	// belong to whoever made it.
	status := a.nc.StatusChanged(nats.CONNECTED)
	defer a.nc.RemoveStatusListener(status)

	var bg sync.WaitGroup
	bg.Go(func() { a.watchEnvironments(serving) })
	bg.Go(func() { a.cleanLoop(serving) })

	l := &loop{
		heartbeat: time.NewTicker(a.cfg.HeartbeatInterval),
		// Half the retry period: a result waits between 1 and 1.5 periods.
		retry:  time.NewTicker(max(a.cfg.ResultRetry/2, time.Millisecond)),
		status: status,
	}
	defer l.heartbeat.Stop()
	defer l.retry.Stop()

	a.log.Info("agent starting", "name", a.cfg.Name, "slots", a.cfg.Slots, "session", a.session)
	a.hello()
	a.serve(l, serving.Done(), nil)
	var conflict *ConflictError
	refused := errors.As(context.Cause(serving), &conflict)
	a.shutdown(l, !refused)

	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		a.log.Warn("unsubscribe", "err", err)
	}
	a.handlers.Wait()
	a.runners.Wait()
	bg.Wait()
	a.log.Info("agent stopped")
	if refused {
		return conflict
	}
	return nil
}

// shutdown runs once Run's context is done; see Run. An agent the backend
// holds says so (hello with no free slot) and gives its attempts
// ShutdownGrace; one it refused goes at once, since the backend has given
// its jobs to others or will.
func (a *Agent) shutdown(l *loop, registered bool) {
	a.mu.Lock()
	a.stopping = true
	n := len(a.attempts)
	a.mu.Unlock()
	a.log.Info("agent stopping", "running", n, "grace", a.cfg.ShutdownGrace)
	if registered {
		a.hello() // with no free slot: the backend stops sending jobs
	}

	allDone := make(chan struct{})
	go func() { a.jobs.Wait(); close(allDone) }()
	if registered && a.cfg.ShutdownGrace > 0 {
		grace, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace)
		a.serve(l, grace.Done(), a.noneRunning)
		cancel()
	}
	a.cancelJobs(containers.ErrShutdown)
	a.serve(l, nil, a.noneRunning)
	<-allDone

	// A fresh context: Run's is done, and results must still go out.
	flush, cancel := context.WithTimeout(context.Background(), a.cfg.FlushTimeout)
	defer cancel()
	a.serve(l, flush.Done(), func() bool { return a.noPending() || a.nc.IsClosed() })
	if n := a.pendingCount(); n > 0 {
		a.log.Warn("stopping with unacknowledged results: the backend will re-queue those jobs", "results", n)
	}
	if err := a.nc.FlushWithContext(flush); err != nil {
		a.log.Warn("flush NATS", "err", err)
	}
}

// loop holds the timers of Run's loop; only Run's goroutine uses it.
type loop struct {
	heartbeat *time.Ticker
	retry     *time.Ticker
	status    <-chan nats.Status
}

// serve handles timers and wake-ups until done fires or until reports true
// (checked after every wake-up).
func (a *Agent) serve(l *loop, done <-chan struct{}, until func() bool) {
	for {
		if until != nil && until() {
			return
		}
		select {
		case <-done:
			return
		case <-l.heartbeat.C:
			if a.isRefused() {
				a.hello() // until the backend drops the live process, or Run gives up
			} else {
				a.ping()
			}
		case <-l.retry.C:
			a.resend(time.Now().Add(-a.cfg.ResultRetry))
		case <-l.status:
			// Reconnected: the backend may have restarted or dropped us.
			a.hello()
		case <-a.helloReq:
			a.hello()
		case <-a.changed:
		}
	}
}

// wake pokes ch without blocking; wake-ups coalesce.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (a *Agent) noneRunning() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.attempts) == 0
}

func (a *Agent) noPending() bool { return a.pendingCount() == 0 }

func (a *Agent) pendingCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.results)
}

func sortedKeys[V any](m map[messages.JobAttempt]V) []messages.JobAttempt {
	out := make([]messages.JobAttempt, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, compareAttempts)
	return out
}

func compareAttempts(x, y messages.JobAttempt) int {
	return cmp.Or(strings.Compare(x.JobID, y.JobID), cmp.Compare(x.Attempt, y.Attempt))
}
