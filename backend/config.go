package backend

import (
	"errors"
	"fmt"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// Config holds the backend's settings. DefaultConfig documents the defaults.
type Config struct {
	// Prefix of every subject (default "ingo").
	Prefix string
	// HeartbeatInterval is how often the backend checks agent liveness;
	// agents ping at their own interval (1 s by default).
	HeartbeatInterval time.Duration
	// HeartbeatMisses: an agent silent for HeartbeatInterval × HeartbeatMisses
	// is lost. The defaults drop an agent within 6 s of silence.
	HeartbeatMisses int
	// MaxAttempts bounds how often a job is tried when agents are lost
	// under it or hand it back (AgentJobRefused); after the last, the job
	// ends as crash, with what happened.
	MaxAttempts int
	// StartTimeout: an assigned job whose agent has not confirmed it by
	// then is taken back and re-queued (the BackendNewJob was lost).
	StartTimeout time.Duration
	// EnvironmentGrace: for this long after the backend starts, a job for an
	// environment no agent offers waits (agents are still saying hello)
	// instead of failing at once.
	EnvironmentGrace time.Duration
	// DoneRetention is how long a finished job's id stays taken (and its
	// result kept, within DoneMemory, to answer a client that resubmits it
	// after a reconnect).
	DoneRetention time.Duration
	// DoneMemory bounds the bytes of results kept for DoneRetention.
	DoneMemory int64
	// ClientTimeout: a client silent this long (clients ping every second)
	// and without live jobs is forgotten, so that frontends restarting with
	// new ids do not pile up. It says hello again if it comes back.
	ClientTimeout time.Duration
	// OrphanTimeout: waiting jobs whose environment has had no agent for
	// this long (every agent offering it was lost) end as crash, unless
	// their client asked to wait for the environment.
	OrphanTimeout time.Duration
	// ResultRetention is how long a result its client has not
	// acknowledged is kept (in the durable journal) and sent again; then
	// it is dropped. A frontend down over a long weekend still gets its
	// results with the default of 72 h.
	ResultRetention time.Duration
	// ResultResend: an unacknowledged result is sent again this often to
	// its client while the client is alive, and at once when it says
	// hello.
	ResultResend time.Duration
	// Journal records transitions; nil keeps state in memory only. If it
	// also implements Replayer, Run rebuilds the state from it first, and
	// StartTimeout is also how long jobs replayed as running wait for
	// their agent to claim them.
	Journal Journal
	// Observer hears of dispatched and finished jobs (for metrics); nil
	// means none. It is called from the event loop and must not block.
	Observer Observer
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Prefix:            messages.DefaultPrefix,
		HeartbeatInterval: time.Second,
		HeartbeatMisses:   5,
		MaxAttempts:       2,
		StartTimeout:      30 * time.Second,
		EnvironmentGrace:  10 * time.Second,
		DoneRetention:     15 * time.Minute,
		DoneMemory:        256 << 20,
		ClientTimeout:     10 * time.Minute,
		OrphanTimeout:     5 * time.Minute,
		ResultRetention:   72 * time.Hour,
		ResultResend:      10 * time.Second,
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.Prefix == "" {
		c.Prefix = messages.DefaultPrefix
	}
	if c.HeartbeatInterval <= 0 {
		errs = append(errs, fmt.Errorf("heartbeat interval must be positive, not %v", c.HeartbeatInterval))
	}
	if c.HeartbeatMisses < 1 {
		errs = append(errs, fmt.Errorf("heartbeat misses must be at least 1, not %d", c.HeartbeatMisses))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("max attempts must be at least 1, not %d", c.MaxAttempts))
	}
	if c.StartTimeout <= 0 {
		errs = append(errs, fmt.Errorf("start timeout must be positive, not %v", c.StartTimeout))
	}
	if c.EnvironmentGrace < 0 || c.DoneRetention < 0 || c.DoneMemory < 0 {
		errs = append(errs, errors.New("environment grace, done retention and done memory cannot be negative"))
	}
	if c.OrphanTimeout <= 0 {
		errs = append(errs, fmt.Errorf("orphan timeout must be positive, not %v", c.OrphanTimeout))
	}
	if c.ClientTimeout <= 0 {
		errs = append(errs, fmt.Errorf("client timeout must be positive, not %v", c.ClientTimeout))
	}
	if c.ResultRetention <= 0 || c.ResultResend <= 0 {
		errs = append(errs, fmt.Errorf("result retention and result resend must be positive, not %v and %v", c.ResultRetention, c.ResultResend))
	}
	if c.Journal == nil {
		c.Journal = memoryJournal{}
	}
	return errors.Join(errs...)
}
