package docker

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
	"golang.org/x/sync/semaphore"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/channel"
)

// ioWait bounds the wait for a run_student call's stdin, stdout and stderr
// streams once its request came.
const ioWait = 10 * time.Second

// maxStudents bounds a job's student containers at once; more calls wait
// for one to end (a run file cannot fill the host with containers).
const maxStudents = 8

// Bounds of what a container may open on its channel, so that a hostile
// one (student code in a grading container can reach the socket) costs
// the agent bounded memory: streams being handled at once, run_student
// calls whose streams have not all come, refused streams in all, and
// streams the agent closed whose peer has not closed them yet (drop); past
// the last two, the channel is closed, which only breaks that job.
const (
	maxActiveStreams = 64
	maxPendingCalls  = 2 * maxStudents
	maxRefused       = 256
	maxDropping      = 128
)

// goAwayWait bounds the wait for the GoAway of a channel over its bounds.
const goAwayWait = time.Second

// jobChannel is the agent's side of a grading container's channel
// (containers/channel): it takes the result, runs student containers and
// relays SSH while the job runs.
type jobChannel struct {
	r       *Runtime
	job     *containers.Job
	ev      containers.Events
	grading string // the grading container's id
	image   string // its image id
	volume  string // the /task/student volume

	ctx    context.Context
	cancel context.CancelFunc
	// life orders start and close, which run on different goroutines:
	// a session started after close would never be closed, and its
	// accept loop would join wg while close waits on it.
	life   sync.Mutex
	closed bool
	sess   *yamux.Session
	in     io.Closer // the session's input, closed to end its reader
	// outEnd ends the session's output, the container's stdin (nil when
	// it cannot be ended alone): the helper's session reads EOF and ends.
	outEnd func() error
	ready  chan struct{} // closed once sess is set

	maxResult int64              // the bound of the result (attempt.maxResult)
	result    chan channelResult // the result stream's outcome, once
	// resultAt is when a whole result was read (zero: none yet), the
	// last moment the grading container is known to have run.
	resultMu sync.Mutex
	resultAt time.Time
	// meter is the grading container's (set before the channel opens):
	// read once more when the result comes, while the helper still waits.
	meter *meter
	// oom is the grading container's OOM watch (set before the channel
	// opens): its counter is read when the result comes, for the same
	// reason.
	oom *oomWatch
	// studentUse sums the student containers that ran (usage.go).
	studentUse studentTally
	// commonRoom is the room of the course's $common/student on a
	// student container's tmpfs, read once (studentcommon.go).
	commonOnce sync.Once
	commonRoom int64

	mu      sync.Mutex
	pending map[string]map[string]*yamux.Stream // call id -> kind -> stream
	arrived chan struct{}                       // closed (and replaced) when pending grows
	// expected are the calls told EventReady whose streams the agent
	// still waits for: io streams of any other call are refused.
	expected map[string]bool

	sshSent atomic.Bool // one set of credentials per job
	// ended is the text of a crash the agent decided while the job ran
	// (endJob): collect gives it as the result, whatever the run file
	// did after.
	ended atomic.Pointer[string]
	// studentSSH counts the job's ssh_student sessions holding a port
	// (one at a time: see serveStudentSSH).
	studentSSH atomic.Int32
	active     atomic.Int64 // streams being handled
	refused    atomic.Int64 // streams refused over the bounds
	// dropping counts the streams drop still drains.
	dropping atomic.Int64
	// giveUpOnce ends the channel once (giveUp).
	giveUpOnce sync.Once
	students   chan struct{} // slots of student containers
	// studentMemory is the job's memory limit, shared by its student
	// containers running at once (memory.go); nil: no limit.
	studentMemory *semaphore.Weighted
	// shares are the job's CPUs and processes, shared by its student
	// containers running at once (studentshare.go).
	shares studentShares
	wg     sync.WaitGroup
}

// endJob ends the job as crash with text, as INGInious' agent ends one
// (handle_job_closing with a manual feedback) over a request it will not
// serve: the text is kept for collect first, then the grading container
// is killed, so that nothing the run file does next counts.
func (c *jobChannel) endJob(text string) {
	c.ended.CompareAndSwap(nil, &text)
	c.r.kill(c.grading)
}

// endedText is endJob's text, "" when the job was not ended so.
func (c *jobChannel) endedText() string {
	if t := c.ended.Load(); t != nil {
		return *t
	}
	return ""
}

// channelResult is what came on the result stream.
type channelResult struct {
	data []byte
	err  error
}

// newJobChannel is the channel of attempt a's grading container.
func newJobChannel(r *Runtime, a *attempt, grading, volume string) *jobChannel {
	ctx, cancel := context.WithCancel(context.Background())
	return &jobChannel{
		r: r, job: a.job, ev: a.ev, grading: grading, image: a.image, volume: volume,
		ctx: ctx, cancel: cancel,
		ready:         make(chan struct{}),
		maxResult:     a.maxResult,
		result:        make(chan channelResult, 1),
		pending:       map[string]map[string]*yamux.Stream{},
		expected:      map[string]bool{},
		arrived:       make(chan struct{}),
		students:      make(chan struct{}, maxStudents),
		studentMemory: studentBudget(a.job.Limits),
	}
}

// muxConn is the container's stdout (after the marker) and stdin as one
// connection.
type muxConn struct {
	io.Reader
	io.Writer
}

func (muxConn) Close() error { return nil }

// start runs the agent's side of the session on the container's stdout
// (from the marker on, in) and stdin (out).
func (c *jobChannel) start(in io.Reader, out io.Writer) error {
	c.life.Lock()
	defer c.life.Unlock()
	if c.closed {
		return errors.New("the job ended before its channel opened")
	}
	sess, err := yamux.Server(muxConn{in, out}, channel.Config())
	if err != nil {
		return err
	}
	c.sess = sess
	if cl, ok := in.(io.Closer); ok {
		c.in = cl
	}
	if cw, ok := out.(interface{ CloseWrite() error }); ok {
		c.outEnd = cw.CloseWrite
	}
	c.wg.Add(1)
	go c.accept()
	close(c.ready)
	return nil
}

// accept dispatches the streams the container opens.
func (c *jobChannel) accept() {
	defer c.wg.Done()
	for {
		st, err := c.sess.AcceptStream()
		if err != nil {
			return
		}
		if c.active.Load() >= maxActiveStreams {
			c.refuse(st, "too many streams at once")
			continue
		}
		c.active.Add(1)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer c.active.Add(-1)
			c.handle(st)
		}()
	}
}

func (c *jobChannel) handle(st *yamux.Stream) {
	h, _, err := channel.ReadHeader(st)
	if err != nil {
		c.r.log.Debug("channel stream refused", "container", c.grading, "err", err)
		c.drop(st)
		return
	}
	c.r.log.Debug("channel stream", "container", c.grading, "kind", h.Kind, "id", h.ID)
	switch h.Kind {
	case channel.KindResult:
		c.takeResult(st)
	case channel.KindStudent:
		c.runStudent(st, h)
	case channel.KindStdin, channel.KindStdout, channel.KindStderr:
		c.mu.Lock()
		if !c.expected[h.ID] {
			c.mu.Unlock()
			c.refuse(st, "an io stream of no call waiting for its streams")
			return
		}
		if c.pending[h.ID] == nil && len(c.pending) >= maxPendingCalls {
			c.mu.Unlock()
			c.refuse(st, "too many run_student calls waiting for their streams")
			return
		}
		if c.pending[h.ID] == nil {
			c.pending[h.ID] = map[string]*yamux.Stream{}
		}
		if old := c.pending[h.ID][h.Kind]; old != nil {
			defer c.drop(old) // after mu: drop may give the channel up
		}
		c.pending[h.ID][h.Kind] = st
		close(c.arrived)
		c.arrived = make(chan struct{})
		c.mu.Unlock()
	case channel.KindSSHDebug:
		if c.job.Desc.Debug != "ssh" || !c.sshSent.CompareAndSwap(false, true) {
			_ = channel.WriteLine(st, channel.Event{Event: channel.EventExit, Code: channel.CodeLaunch, Reason: "this job may not serve SSH"})
			c.drop(st)
			return
		}
		c.r.sshRelay(c.ctx, st, h, c.sess, sshReady(c.ev, c.r.opts.SSH.Host, h))
	default:
		c.drop(st)
	}
}

// refuse closes a stream over the bounds, and the whole channel once too
// many were.
func (c *jobChannel) refuse(st *yamux.Stream, why string) {
	c.drop(st)
	if n := c.refused.Add(1); n == 1 || n == maxRefused {
		c.r.log.Warn("container channel: stream refused", "container", c.grading, "why", why, "refused", n)
	}
	if c.refused.Load() >= maxRefused {
		c.giveUp()
	}
}

// drop closes st, a stream the agent is done with or will not serve, and
// reads and discards what its peer still sends until the peer closes its
// side too. A yamux stream closed on one side buffers what arrives, up to
// its window (256 KiB, in a buffer that grows by doubling), until the
// other side closes it, which a process of the container need never do:
// streams replaced, refused or done with held that memory in the agent
// until the job ended, some 0.5 MiB a stream for as many streams as the
// helper could open. The drain holds nothing; streams being drained count,
// and past maxDropping the channel is given up. The helper's proxy closes
// its side of a stream once the agent closed its own (containers/helper,
// mux.go): a drain lasts until the process at the other end has read what
// the agent sent it (a call's output), then a round trip. Callers run on
// goroutines wg counts, so the drain's wg.Add cannot race close's Wait.
func (c *jobChannel) drop(st *yamux.Stream) {
	_ = st.Close()
	if c.dropping.Add(1) > maxDropping {
		c.dropping.Add(-1)
		c.r.log.Warn("container channel: too many streams left open by the container", "container", c.grading)
		c.giveUp()
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.dropping.Add(-1)
		// A deadline its last user set (a call's stdin, cut when the
		// student stopped) would end the drain at once.
		_ = st.SetReadDeadline(time.Time{})
		_, _ = io.Copy(io.Discard, st) // ends at the peer's close or the session's
	}()
}

// giveUp ends a channel over its bounds, so that the helper's side ends
// too, whatever it is doing. GoAway alone is not enough: it only fails the
// helper's opens that start after it arrives; an open already waiting for
// a free SYN slot (yamux allows AcceptBacklog unanswered opens, and a
// flood fills them) is never woken, since this side answers nothing once
// closed, and waits for the helper's StreamOpenTimeout: the result stream
// of a run file that ended before the GoAway came waited so until the
// job's wall-time limit. Ending the container's stdin makes the helper's
// session read EOF and shut down: every open, read and write of it fails
// at once, whatever the timing.
func (c *jobChannel) giveUp() {
	c.giveUpOnce.Do(func() {
		// GoAway first, so that the helper's opens say why; not waited
		// for long (a stuck writer is what the EOF below is for).
		sent := make(chan struct{})
		go func() {
			_ = c.sess.GoAway()
			close(sent)
		}()
		select {
		case <-sent:
		case <-time.After(goAwayWait):
		}
		if c.outEnd != nil {
			_ = c.outEnd()
		}
		if c.in != nil {
			c.in.Close() // else Close waits for the attach stream's end
		}
		c.sess.Close()
	})
}

// takeResult reads the result (at most maxResult bytes), then closes the
// stream to tell the helper it has it. The first result stream counts.
func (c *jobChannel) takeResult(st *yamux.Stream) {
	defer st.Close()
	data, err := channel.ReadResult(st, c.maxResult)
	c.r.log.Debug("channel result", "container", c.grading, "bytes", len(data), "err", err)
	// The helper exits once the stream is closed, and its cgroup with it:
	// this is the last moment its accounting can be read, with the grader
	// done.
	c.oom.readResult() // first: the meter may wait on the stats API
	c.meter.sampleNow(c.ctx)
	select {
	case c.result <- channelResult{data, err}:
		if err == nil {
			c.resultMu.Lock()
			c.resultAt = time.Now()
			c.resultMu.Unlock()
		}
	default:
	}
}

// resultTime is when the whole result was read; zero when none was.
func (c *jobChannel) resultTime() time.Time {
	c.resultMu.Lock()
	defer c.resultMu.Unlock()
	return c.resultAt
}

// streams waits for the three io streams of a call.
func (c *jobChannel) streams(id string, gone <-chan struct{}) (in, out, errs *yamux.Stream, err error) {
	deadline := time.NewTimer(ioWait)
	defer deadline.Stop()
	defer func() {
		c.mu.Lock()
		delete(c.expected, id)
		c.mu.Unlock()
	}()
	for {
		c.mu.Lock()
		m := c.pending[id]
		if m != nil && m[channel.KindStdin] != nil && m[channel.KindStdout] != nil && m[channel.KindStderr] != nil {
			delete(c.pending, id)
			c.mu.Unlock()
			return m[channel.KindStdin], m[channel.KindStdout], m[channel.KindStderr], nil
		}
		arrived := c.arrived
		c.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline.C:
			c.dropPending(id)
			return nil, nil, nil, errors.New("the call's stdin, stdout and stderr did not come")
		case <-gone:
			c.dropPending(id)
			return nil, nil, nil, errors.New("the caller left")
		case <-c.ctx.Done():
			return nil, nil, nil, c.ctx.Err()
		}
	}
}

// dropPending drops the streams of call id that came: they are nobody's
// now.
func (c *jobChannel) dropPending(id string) {
	c.mu.Lock()
	m := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	for _, st := range m {
		c.drop(st)
	}
}

// close ends the session and everything it started (student containers
// are killed and removed by their own goroutines once ctx ends).
func (c *jobChannel) close() {
	c.cancel()
	c.life.Lock()
	c.closed = true
	if c.sess != nil {
		if c.in != nil {
			c.in.Close() // else Close waits for the attach stream's end
		}
		c.sess.Close()
	}
	c.life.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	for _, m := range c.pending {
		for _, st := range m {
			st.Close()
		}
	}
	c.mu.Unlock()
}

// netConn is what the relays need of a stream.
var _ net.Conn = (*yamux.Stream)(nil)

// takenResult is the result the helper sent over the channel:
// errNoResult when none came, channel.ErrResultTooLarge when it was over
// maxResult.
func (c *jobChannel) takenResult() ([]byte, error) {
	select {
	case res := <-c.result:
		return res.data, res.err
	default:
		return nil, errNoResult
	}
}
