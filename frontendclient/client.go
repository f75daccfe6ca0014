package frontendclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"golang.org/x/sync/semaphore"

	"github.com/ingo-grader/ingo/internal/logging"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// How many job ids the client remembers after it stopped following them:
// finished ones (to tell a duplicate result from a stranger's) and those
// whose NewJob got no answer (so that a retry may adopt them).
const rememberedIDs = 4096

// Client talks to the backend for one frontend. Create it with New; its
// methods are safe from any goroutine.
type Client struct {
	opts Options
	nc   *nats.Conn
	subj messages.Subjects
	self string // our subject: where the backend answers, and who we are
	to   string // the backend subject we send on (our identity to the backend)
	log  *slog.Logger
	// peerLog is log at most 100 lines a minute, for messages dropped on
	// the client's subject: another frontend can have the NATS server send
	// there the acknowledgements of its own publishes (a reply subject of
	// its choice), a line each before.
	peerLog *slog.Logger
	stats   counters

	sub    *nats.Subscription
	status chan nats.Status
	stop   chan struct{} // closed by shutdown
	// wg counts the heartbeat goroutine and the message handlers in flight,
	// so that nothing of ours runs after Close returns.
	wg sync.WaitGroup

	ready       chan struct{} // closed at the first BackendUpdateEnvironments
	readyFailed chan struct{} // closed when the backend refuses our hello

	uploads uploader
	// out sends everything for the backend, many messages in one where
	// they come together (natsconn.Coalescer).
	out *natsconn.Coalescer

	// mu guards everything below (see the package doc).
	mu         sync.Mutex
	closed     bool
	closeCause error
	isReady    bool
	readyErr   error
	envs       map[string][]string
	onEnvs     func(map[string][]string)
	jobs       map[string]*Job // our jobs without a result
	unanswered map[string]*Job // those whose latest submission has no answer
	submitSeq  uint64
	finished   *idSet
	forgotten  *idSet
	queueWait  []*queueWaiter
	killWait   map[string][]*killWaiter
	hb         heartbeatState
	losses     uint64 // see lossMark
	helloSeq   uint64 // hb.sent when the latest hello was sent
	helloHeard bool   // the backend answered since then
	results    resultState
}

// New subscribes to the client's subject and says hello. It does not wait
// for the backend (WaitReady does): jobs can be submitted before it is up,
// and reach it once it is. The caller keeps owning nc; Close the Client
// before closing nc.
func New(ctx context.Context, nc *nats.Conn, opts Options) (*Client, error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: nil NATS connection", ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("frontendclient: %w", err)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	subj := messages.NewSubjects(opts.Prefix)
	c := &Client{
		opts:        opts,
		nc:          nc,
		subj:        subj,
		self:        subj.Client(opts.ClientID),
		to:          subj.BackendClient(opts.ClientID),
		log:         opts.Log.With("client", opts.ClientID),
		peerLog:     logging.Limited(opts.Log.With("client", opts.ClientID), time.Minute, 100),
		stop:        make(chan struct{}),
		ready:       make(chan struct{}),
		readyFailed: make(chan struct{}),
		envs:        map[string][]string{},
		jobs:        make(map[string]*Job),
		unanswered:  make(map[string]*Job),
		finished:    newIDSet(rememberedIDs),
		forgotten:   newIDSet(rememberedIDs),
		killWait:    make(map[string][]*killWaiter),
		hb:          heartbeatState{tag: uuid.NewString()[:8]},
	}
	if opts.Admin {
		c.to = subj.BackendAdmin(opts.ClientID)
	}
	c.results = newResultState(c.handler())
	c.uploads.c = c
	c.uploads.packs = semaphore.NewWeighted(maxPacks)
	// SUB and the hello travel on one connection, in order: the server
	// knows the subscription before the backend can answer the hello.
	c.sub, err = nc.Subscribe(c.self, c.handle)
	if err != nil {
		return nil, fmt.Errorf("frontendclient: subscribe %s: %w", c.self, err)
	}
	// Results carry archives: let a burst queue up rather than be dropped
	// as a slow consumer while the application holds the lock (resending).
	if err := c.sub.SetPendingLimits(1<<20, 1<<30); err != nil {
		c.log.Warn("cannot raise pending limits", "err", err)
	}
	c.status = nc.StatusChanged(nats.CONNECTED, nats.CLOSED)
	c.out = natsconn.NewCoalescer(nc, c.to, c.self, func(n int, err error) {
		// Submissions unanswered and hellos are sent again after the next
		// answered ping; requests time out.
		c.stats.sendErrors.Add(int64(n))
		c.log.Warn("send failed", "messages", n, "err", err)
	})

	c.mu.Lock()
	c.sayHello()
	c.mu.Unlock()

	c.wg.Add(1)
	go c.heartbeat()
	if c.handler() {
		c.wg.Add(1)
		go c.handResults()
	}
	return c, nil
}

// ID is the client id: the last token of its subject.
func (c *Client) ID() string { return c.opts.ClientID }

// WaitReady waits until the backend has answered the hello with the
// environments it offers. It returns the backend's refusal
// (*messages.Error, CodeProtocolVersion) if there is one.
func (c *Client) WaitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	default:
	}
	select {
	case <-c.ready:
		return nil
	case <-c.readyFailed:
		c.mu.Lock()
		defer c.mu.Unlock()
		return fmt.Errorf("frontendclient: hello refused: %w", c.readyErr)
	case <-c.stop:
		return c.closedErr()
	case <-ctx.Done():
		return fmt.Errorf("frontendclient: wait for the backend: %w", ctx.Err())
	}
}

// Environments returns the environments the backend advertises, by type:
// {"docker": ["default", "python3"]}. Empty until the backend answered.
func (c *Client) Environments() map[string][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return copyEnvs(c.envs)
}

// OnEnvironments sets a function called with every later update of the
// environments (nil removes it). It runs on the goroutine that receives
// the client's messages, in order, so it must return quickly: it may read
// the client (Environments, Stats) but must not call what waits for the
// backend (NewJob, KillJob, Queue, WaitReady) or Close, which would wait
// for it.
func (c *Client) OnEnvironments(fn func(map[string][]string)) {
	c.mu.Lock()
	c.onEnvs = fn
	c.mu.Unlock()
}

// Close stops the client: it unsubscribes, stops the heartbeat and waits
// for its goroutines. Jobs without a result end without one (Job.Err is
// ErrClosed) and calls waiting for the backend return ErrClosed. The
// backend keeps running the jobs; a later Client with the same ClientID is
// the one their results are sent to. Close is idempotent.
func (c *Client) Close() error {
	err := c.shutdown(nil)
	c.wg.Wait()
	c.out.Close()
	return err
}

// shutdown ends everything except waiting for goroutines, so that the
// heartbeat goroutine can call it too. Only the first call does anything.
func (c *Client) shutdown(cause error) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.closeCause = cause
	close(c.stop)
	end := c.closedErrLocked()
	for id, j := range c.jobs {
		j.finish(nil, end)
		delete(c.jobs, id)
	}
	clear(c.unanswered)
	c.mu.Unlock()

	c.nc.RemoveStatusListener(c.status)
	if err := c.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
		return fmt.Errorf("frontendclient: unsubscribe: %w", err)
	}
	return nil
}

func (c *Client) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closedErrLocked()
}

func (c *Client) closedErrLocked() error {
	if c.closeCause != nil {
		return fmt.Errorf("%w: %w", ErrClosed, c.closeCause)
	}
	return ErrClosed
}

// send queues m for the backend. Called with mu held.
func (c *Client) send(m messages.Message) error {
	return c.out.SendMessage(m)
}

// sendWire queues an already encoded message. Called with mu held.
func (c *Client) sendWire(data []byte) error {
	return c.out.Send(data)
}

// sayHello (re)registers with the backend. Called with mu held.
func (c *Client) sayHello() {
	c.helloSeq = c.hb.sent
	c.helloHeard = false
	c.stats.hellos.Add(1)
	if err := c.send(&messages.ClientHello{Name: c.opts.Name, ProtocolVersion: messages.ProtocolVersion}); err != nil {
		// The next answered ping finds the hello unanswered and retries.
		c.log.Warn("hello not sent", "err", err)
	}
}

func copyEnvs(in map[string][]string) map[string][]string {
	out := make(map[string][]string, len(in))
	for k, v := range in {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// timeout returns a channel that fires after RequestTimeout, and its stop.
func (c *Client) timeout() (<-chan time.Time, func() bool) {
	t := time.NewTimer(c.opts.RequestTimeout)
	return t.C, t.Stop
}
