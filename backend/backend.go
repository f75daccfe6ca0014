package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/fairuse"
	"github.com/ingo-grader/ingo/internal/logging"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// ErrDeposed, as the cause of Run's context, says that this backend is no
// longer the active one (its leadership lease was lost): Run stops at once,
// without handling what it has received, because another backend may
// already act on the same jobs. What it drops is sent again by its
// senders (results until acked, submissions until queued).
var ErrDeposed = errors.New("backend: no longer the active backend")

// ErrJournalFailed is returned by Run when an AsyncJournal could not store
// a transition the backend had applied: its state is ahead of the journal,
// so it stops without sending what it held back, and a new Backend
// replaying the journal takes over (cmd/ingo campaigns again).
var ErrJournalFailed = errors.New("backend: the journal failed to store a transition")

// Backend is the scheduler. Create it with New and serve with Run.
type Backend struct {
	cfg Config
	nc  *nats.Conn
	log *slog.Logger
	// peerLog is log at most 100 lines a minute, for what a peer's
	// messages cause at will (malformed, unexpected): a frontend's
	// 200,000 one-byte messages in 0.35 s wrote 36 MB of warnings. The
	// counters (Stats) count them all. refusalLog is the same for
	// refusals of what a peer may not do (another's job or attempt, a
	// hello out of bounds), with a budget of its own: a flood of junk
	// must not hide them.
	peerLog, refusalLog *slog.Logger
	subj                messages.Subjects

	events    chan event
	abandoned chan struct{} // closed when a deposed Run stops reading events
	async     AsyncJournal  // cfg.Journal when it stores in the background
	loader    JobLoader     // cfg.Journal when it can read descriptions back
	out       outbox        // what the loop sends, held until stored (async)
	sends     sendQueue     // what the loop's turn sends, a batch per peer
	stats     counters
	// queueThrottle bounds each frontend's queue snapshots, and
	// adminQueueThrottle each admin's, more loosely (throttle.go).
	queueThrottle, adminQueueThrottle fairuse.Debts
	// helloThrottle bounds each agent id's hellos (throttle.go).
	helloThrottle fairuse.Debts
	gauges        gauges // published by the loop, read by Gauges

	// Everything below is owned by the event loop (see the package doc).
	jobs      map[string]*job
	done      map[string]*doneJob
	doneOrder []string
	doneBytes int64
	doneTrim  int
	// unacked holds, per client id, the results sent and not acknowledged.
	unacked      map[string]map[string]*unacked
	unackedCount int
	envChecks    []string            // jobs to check when the environment grace ends
	orphaned     map[topic]time.Time // queues with jobs and no agent, since when
	queues       *queues
	heads        interner // strings shared by the jobs' heads
	hot          int      // live jobs holding their description
	hotBytes     int64    // the bytes their descriptions count (job.descBytes)
	spills       []spill  // descriptions to drop once stored (spill.go)
	share        fairShare
	runTimes     map[topic]time.Duration // recent run time per environment, for estimates
	agents       map[string]*agent
	agentIdx     agentIndex // agents with a free slot, by environment (agentindex.go)
	clients      map[string]*client
	advertised   map[string][]string
	seq          uint64
	dispatchSeq  uint64
	picks        uint64
	startedAt    time.Time
	// unclaimed holds jobs replayed as assigned or running: their agent
	// must say hello again (with them) within StartTimeout of the start.
	unclaimed map[string]bool
	// unsettled: delivered jobs the journal forgets once the History
	// holds their records (history.go).
	unsettled []string
	// replayed: records of jobs replayed as finished, owed to the
	// History (historyreplay.go).
	replayed replayedHistory
	// tails: jobs a replay met only by their last records (replaytails.go).
	tails map[string]struct{}
	// preload: whether Preload ran (preload.go), and what it applied.
	preload struct {
		done    bool
		applied int
	}
	// offlineSince is when the NATS connection was found down (zero: up).
	offlineSince time.Time
	now          func() time.Time

	// sshDebug counts the live SSH-debug jobs of each client id
	// (sshdebug.go).
	sshDebug map[string]int
}

// event is one decoded message for the loop.
type event struct {
	at     time.Time // when it arrived: liveness counts from arrival, not from handling
	sender string    // client or agent id, from the subject NATS let it publish on
	msg    messages.Message
	wire   []byte // a ClientNewJob's own bytes (JobQueued.Wire), else nil
	agent  bool   // arrived on an agent's subject
	admin  bool   // arrived on an admin's subject: may see and kill every job
}

// New makes a backend on an open connection, which the caller keeps
// owning (and closes after Run returned).
func New(nc *nats.Conn, cfg Config, log *slog.Logger) (*Backend, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("backend config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	async, _ := cfg.Journal.(AsyncJournal)
	loader, _ := cfg.Journal.(JobLoader)
	b := &Backend{
		async:      async,
		loader:     loader,
		heads:      interner{},
		cfg:        cfg,
		nc:         nc,
		log:        log,
		peerLog:    logging.Limited(log, time.Minute, 100),
		refusalLog: logging.Limited(log, time.Minute, 100),
		subj:       messages.NewSubjects(cfg.Prefix),
		events:     make(chan event, 8192),
		abandoned:  make(chan struct{}),
		jobs:       make(map[string]*job),
		done:       make(map[string]*doneJob),
		unacked:    make(map[string]map[string]*unacked),
		queues:     nil, // below: it reads the fair share
		runTimes:   map[topic]time.Duration{},

		agents:     make(map[string]*agent),
		clients:    make(map[string]*client),
		advertised: map[string][]string{},
		orphaned:   map[topic]time.Time{},
		unclaimed:  map[string]bool{},
		now:        time.Now,

		queueThrottle:      fairuse.Debts{Budget: cfg.queueBudget},
		adminQueueThrottle: fairuse.Debts{Budget: cfg.adminQueueBudget},
		helloThrottle:      fairuse.Debts{Budget: cfg.helloBudget},
	}
	b.share = newFairShare(cfg.weights, func() time.Time { return b.now() })
	b.queues = newQueues(&b.share)
	return b, nil
}

// Run serves until ctx is done. It stops taking messages, handles those
// already received, and returns. State lives in memory and in the Journal.
// After a Preload it may return ErrPreloadStale, having served nothing.
func (b *Backend) Run(ctx context.Context) error {
	b.startedAt = b.now()
	if err := b.replay(); err != nil {
		return err
	}
	b.publishGauges()
	defer b.publishGauges()
	var subs []*nats.Subscription
	for _, subject := range []string{b.subj.BackendClient("*"), b.subj.BackendAdmin("*"), b.subj.BackendAgent("*")} {
		s, err := b.nc.Subscribe(subject, b.receive)
		if err != nil {
			for _, s := range subs {
				_ = s.Unsubscribe()
			}
			return fmt.Errorf("subscribe %s: %w", subject, err)
		}
		subs = append(subs, s)
	}
	for _, s := range subs {
		// A burst at the deadline must queue here rather than be dropped
		// as a slow consumer: 1M messages or 1 GiB.
		_ = s.SetPendingLimits(1<<20, 1<<30)
	}
	if err := b.nc.Flush(); err != nil {
		b.log.Warn("flush after subscribing", "err", err)
	}
	b.log.Info("backend serving", "prefix", b.cfg.Prefix)
	if b.cfg.Serving != nil {
		b.cfg.Serving()
	}

	tick := time.NewTicker(b.tickInterval())
	defer tick.Stop()
	var progress <-chan struct{}
	if b.async != nil {
		progress = b.async.Progress()
	}
	for {
		select {
		case <-progress:
			if err := b.async.Err(); err != nil {
				return b.journalFailed(err, subs...)
			}
			b.flushOutbox(b.async.Stored())
			b.spillStored()
			b.flushSends()
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), ErrDeposed) {
				return b.abandon(ctx, subs...)
			}
			return b.shutdown(subs...)
		case ev := <-b.events:
			b.handle(ev)
			// Take what else is waiting before dispatching once for all.
			for i := 0; i < 1024 && len(b.events) > 0; i++ {
				b.handle(<-b.events)
			}
			b.dispatch()
			b.spillStored()
			b.flushSends()
		case <-tick.C:
			// What arrived while the loop was busy (a slow journal write)
			// is handled first: a ping waiting here is not silence.
			for len(b.events) > 0 {
				b.handle(<-b.events)
			}
			b.tick()
			b.dispatch()
			b.flushSends()
			b.publishGauges()
		}
	}
}

// replay rebuilds the state from a durable journal, before serving.
// Waiting jobs are back in their queues in their order; the seq and
// dispatch counters continue above the replayed ones (apply keeps them).
// Jobs that were on an agent stay assigned to it: the agent table is
// empty, so they wait for their agent's hello (see agentHello), and are
// re-queued if it does not claim them within StartTimeout (see tick).
func (b *Backend) replay() error {
	r, ok := b.cfg.Journal.(Replayer)
	if !ok {
		return nil
	}
	n := 0
	if err := r.Replay(func(t Transition) { n++; b.replayApply(t) }); err != nil {
		return fmt.Errorf("replay the journal: %w", err)
	}
	if b.preload.done {
		b.log.Info("journal caught up after its preload", "transitions", n)
		n += b.preload.applied
	}
	b.forgetTails()
	b.feedHistory() // historyreplay.go: the finished jobs' records, again
	running := 0
	for id, j := range b.jobs {
		if j.phase != phaseWaiting {
			b.unclaimed[id] = true
			running++
		}
	}
	b.log.Info("journal replayed", "transitions", n, "waiting", b.queues.waiting, "on_agents", running)
	if n >= bigReplay {
		// A big replay drops about as much as it keeps (messages read,
		// decoded records): hand that back to the OS now rather than keep
		// the peak's RSS until the scavenger gets to it. In the background,
		// not to delay serving; it ends with the collection.
		go debug.FreeOSMemory()
	}
	return nil
}

// bigReplay is the number of transitions from which a replay's garbage is
// returned to the OS at once.
const bigReplay = 100_000

func (b *Backend) tickInterval() time.Duration {
	if b.cfg.HeartbeatInterval < time.Second {
		return b.cfg.HeartbeatInterval
	}
	return time.Second
}

func (b *Backend) shutdown(subs ...*nats.Subscription) error {
	var errs []error
	for _, s := range subs {
		if err := s.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, err)
		}
	}
	// Drain lets handlers finish; what they posted is still handled, so a
	// job accepted on the wire is not silently dropped from the journal.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		if !anyValid(subs) && len(b.events) == 0 {
			break
		}
		select {
		case ev := <-b.events:
			b.handle(ev)
		case <-time.After(10 * time.Millisecond):
		}
	}
	b.settleOutbox(5 * time.Second)
	if err := b.nc.Flush(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		errs = append(errs, err)
	}
	b.log.Info("backend stopped", "waiting", b.queues.waiting, "jobs", len(b.jobs))
	return errors.Join(errs...)
}

func anyValid(subs []*nats.Subscription) bool {
	for _, s := range subs {
		if s.IsValid() {
			return true
		}
	}
	return false
}

// abandon is the stop of a deposed backend: unsubscribe, drop the rest.
func (b *Backend) abandon(ctx context.Context, subs ...*nats.Subscription) error {
	close(b.abandoned)
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
	b.log.Warn("backend deposed: stopped without handling its pending messages", "pending", len(b.events), "cause", context.Cause(ctx))
	return context.Cause(ctx)
}

// receive runs on NATS' goroutines: decode, check the sender, post. The
// sender is the last token of the subject, which NATS lets only that
// identity publish on (package natsauth); the reply subject is the
// sender's choice and is never trusted.
func (b *Backend) receive(m *nats.Msg) {
	if natsconn.Foreign(m) {
		// The server's answer to somebody's JetStream request, sent here
		// on their behalf: its subject says nothing of who sent it.
		b.stats.badSender.Add(1)
		b.peerLog.Warn("a JetStream answer on a sender's subject, dropped: somebody chose it as a reply subject", "subject", m.Subject, "bytes", len(m.Data))
		return
	}
	sender, kind, ok := b.subj.Sender(m.Subject)
	if !ok {
		// Our subscriptions match only sender subjects; an invalid id
		// token (too long, odd characters) lands here.
		b.stats.badSender.Add(1)
		b.peerLog.Warn("message on a subject without a valid sender id", "subject", m.Subject, "bytes", len(m.Data))
		return
	}
	fromAgent := kind == messages.SenderAgent
	back := b.subj.Client(sender)
	if fromAgent {
		back = b.subj.Agent(sender)
	}
	items, err := messages.Split(m.Data)
	if err != nil {
		b.stats.malformed.Add(1)
		b.peerLog.Warn("malformed batch", "subject", m.Subject, "bytes", len(m.Data), "err", err)
		b.sendNow(back, messages.Errorf(messages.CodeMalformed, "", "%v", err))
		return
	}
	if len(items) > 1 {
		b.stats.batchesReceived.Add(1)
	}
	// The items of a batch are handled as if each had come alone, in
	// order, but a batch gets one answer and one log line for its
	// refused items, and one health check: a peer cannot turn one NATS
	// message into a thousand errors or lines of log.
	var first *messages.Error
	refused := 0
	pinged := false
	for _, data := range items {
		if e := b.receiveOne(m, data, sender, kind, back, refused == 0, &pinged); e != nil {
			if refused++; first == nil {
				first = e
			}
		}
	}
	if first != nil {
		if refused > 1 {
			first.Text += fmt.Sprintf(" (and %d more messages of the same batch refused)", refused-1)
		}
		b.sendNow(back, first)
	}
}

// receiveOne decodes one message from sender, checks it and posts it. It
// returns the error that answers a message refused (logged if logIt).
// pinged says whether a health check was answered for this NATS message.
func (b *Backend) receiveOne(m *nats.Msg, data []byte, sender string, kind messages.SenderKind, back string, logIt bool, pinged *bool) *messages.Error {
	fromAgent := kind == messages.SenderAgent
	msg, err := messages.Decode(data)
	if err != nil {
		b.stats.malformed.Add(1)
		if logIt {
			b.peerLog.Warn("malformed message", "subject", m.Subject, "bytes", len(data), "err", err)
		}
		jobID := ""
		if !fromAgent {
			// A frontend's submission refused (its free-form values,
			// say) is answered as that job's, so that it ends at once.
			jobID = messages.JobIDOf(data)
		}
		return messages.Errorf(messages.CodeMalformed, jobID, "%v", err)
	}
	if _, ok := msg.(*messages.Ping); ok && !fromAgent && m.Reply != back && strings.HasPrefix(m.Reply, "_INBOX.") {
		// A ping from a raw inbox (nats req) is a health check: answer it
		// there, once (the server allows one response), if the inbox is
		// the sender's: another identity's is not answered, so that
		// nobody has the backend answer somebody else's pending request.
		role := natsauth.RoleFrontend
		if kind == messages.SenderAdmin {
			role = natsauth.RoleAdmin
		}
		if !natsauth.OwnInbox(m.Reply, role, sender) {
			b.stats.refused.Add(1)
			return nil
		}
		if !*pinged {
			*pinged = true
			b.sendNow(m.Reply, &messages.Pong{})
		}
		return nil
	}
	if !expected(msg, fromAgent) {
		b.stats.unexpected.Add(1)
		if logIt {
			b.peerLog.Warn("unexpected message", "type", msg.MessageName(), "subject", m.Subject, "sender", sender)
		}
		return messages.Errorf(messages.CodeUnexpected, "", "%s is not accepted on %s", msg.MessageName(), m.Subject)
	}
	ev := event{at: b.now(), sender: sender, msg: msg, agent: fromAgent, admin: kind == messages.SenderAdmin}
	if _, ok := msg.(*messages.ClientNewJob); ok {
		ev.wire = data
	}
	select {
	case b.events <- ev:
	case <-b.abandoned:
		// Deposed: nobody reads events any more.
	}
	return nil
}

// expected says which messages each backend subject takes.
func expected(m messages.Message, fromAgent bool) bool {
	switch m.(type) {
	case *messages.Ping:
		return true
	case *messages.ClientHello, *messages.ClientNewJob, *messages.ClientKillJob, *messages.ClientGetQueue, *messages.Ack:
		return !fromAgent
	case *messages.AgentHello, *messages.AgentJobStarted, *messages.AgentJobDone, *messages.AgentJobRefused, *messages.AgentJobSSHDebug:
		return fromAgent
	}
	return false
}

func (b *Backend) handle(ev event) {
	if ev.agent {
		b.handleAgent(ev)
	} else {
		b.handleClient(ev)
	}
}

// reply sends m to a reply subject, from the event loop: after the
// transitions recorded so far are stored (outbox.go). Failures are logged,
// not fatal: the peer will ask again or time out.
func (b *Backend) reply(subject string, m messages.Message) {
	if subject == "" {
		return
	}
	// Encoded now: its value may change later.
	data, err := messages.Encode(m)
	if err != nil {
		b.stats.sendErrors.Add(1)
		b.log.Warn("send failed", "subject", subject, "type", m.MessageName(), "err", err)
		return
	}
	b.replyEncoded(subject, m.MessageName(), data)
}

// replyEncoded is reply for a message already encoded (data, of the
// message named name): bounded by the server's max_payload, then held
// until what it tells of is stored, or queued.
func (b *Backend) replyEncoded(subject, name string, data []byte) {
	if subject == "" {
		return
	}
	if err := natsconn.Fits(b.nc, name, data); err != nil {
		b.stats.sendErrors.Add(1)
		b.log.Warn("send failed", "subject", subject, "type", name, "err", err)
		return
	}
	if b.out.holding() {
		b.out.held = append(b.out.held, heldMsg{after: b.out.appended, subject: subject, data: data})
		return
	}
	b.queueSend(subject, data)
}

// sendNow sends m at once; safe from any goroutine. Only what tells of no
// transition may bypass the outbox: answers to malformed messages and
// health checks.
func (b *Backend) sendNow(subject string, m messages.Message) {
	if err := natsconn.Send(b.nc, subject, "", m); err != nil {
		b.stats.sendErrors.Add(1)
		b.log.Warn("send failed", "subject", subject, "type", m.MessageName(), "err", err)
	}
}

func (b *Backend) replyError(subject string, e *messages.Error) {
	if subject != "" {
		b.reply(subject, e)
	}
}

func (b *Backend) toClient(id string, m messages.Message) { b.reply(b.subj.Client(id), m) }

func (b *Backend) toAgent(id string, m messages.Message) { b.reply(b.subj.Agent(id), m) }
