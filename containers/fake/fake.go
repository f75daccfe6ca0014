package fake

import (
	"cmp"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/messages"
)

// Options configure a fake runtime.
type Options struct {
	// Environments offered, by type: {"docker": {"default"}} when nil.
	Environments map[string][]string
	// Leftovers are attempts a dead previous process of the agent "left
	// behind", in the agent's installation: Cleanup removes them when its
	// request lets other sessions' resources go.
	Leftovers []messages.JobAttempt
	// RunLog, when set, gets one line per attempt event, each in a single
	// Write call (see the package doc, "Run log"). Give it a file opened
	// with O_APPEND (OpenRunLog) and several processes can share it.
	RunLog io.Writer
}

// Stats count what the runtime did.
type Stats struct {
	Calls     int // Run calls
	Started   int // attempts that got past container creation and ran
	Active    int // Run calls in progress now
	MaxActive int // most Run calls ever in progress at once
	Cleanups  int // Cleanup calls
	Removed   int // attempts removed by Cleanup (leftovers or running)
	Closes    int // Close calls
	LogErrors int // run log lines that could not be written
}

// errRemoved cancels a running attempt that Cleanup removed.
var errRemoved = errors.New("fake: removed by cleanup")

// Runtime is the fake containers.Runtime. The zero value is not usable;
// make one with New.
type Runtime struct {
	changes chan struct{}

	mu        sync.Mutex
	envs      map[string][]string
	gates     map[string]chan struct{} // block_start gates, by job id
	blocked   map[string]int           // attempts waiting at a gate, by job id
	running   map[messages.JobAttempt]context.CancelCauseFunc
	leftovers map[messages.JobAttempt]bool
	stats     Stats

	logMu  sync.Mutex // one line at a time, for writers that need it
	runLog io.Writer
}

var _ containers.Runtime = (*Runtime)(nil)

// New makes a fake runtime.
func New(o Options) *Runtime {
	r := &Runtime{
		changes:   make(chan struct{}, 1),
		envs:      cloneEnvs(o.Environments),
		gates:     make(map[string]chan struct{}),
		blocked:   make(map[string]int),
		running:   make(map[messages.JobAttempt]context.CancelCauseFunc),
		leftovers: make(map[messages.JobAttempt]bool),
		runLog:    o.RunLog,
	}
	if r.envs == nil {
		r.envs = map[string][]string{"docker": {"default"}}
	}
	for _, k := range o.Leftovers {
		r.leftovers[k] = true
	}
	return r
}

// Name is "fake".
func (r *Runtime) Name() string { return "fake" }

// Environments lists the environments set by Options or SetEnvironments.
func (r *Runtime) Environments(context.Context) (map[string]map[string]messages.EnvironmentInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]map[string]messages.EnvironmentInfo, len(r.envs))
	for typ, names := range r.envs {
		m := make(map[string]messages.EnvironmentInfo, len(names))
		for _, n := range names {
			m[n] = messages.EnvironmentInfo{ID: "fake:" + typ + "/" + n, Created: 1, Title: n, Advertised: true}
		}
		out[typ] = m
	}
	return out, nil
}

// SetEnvironments replaces the environments offered and fires Changes, as
// an image appearing or disappearing would.
func (r *Runtime) SetEnvironments(envs map[string][]string) {
	r.mu.Lock()
	r.envs = cloneEnvs(envs)
	r.mu.Unlock()
	select {
	case r.changes <- struct{}{}:
	default: // a change is already pending: they coalesce
	}
}

// Changes fires after SetEnvironments.
func (r *Runtime) Changes() <-chan struct{} { return r.changes }

func (r *Runtime) offers(typ, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.envs[typ], name)
}

// Release lets the attempts of jobID blocked at block_start go on, and those
// that reach it later pass at once.
func (r *Runtime) Release(jobID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.gate(jobID)
	select {
	case <-g:
	default:
		close(g)
	}
}

// Blocked reports whether an attempt of jobID waits at block_start now.
func (r *Runtime) Blocked(jobID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.blocked[jobID] > 0
}

// gate returns jobID's gate; r.mu is held.
func (r *Runtime) gate(jobID string) chan struct{} {
	g := r.gates[jobID]
	if g == nil {
		g = make(chan struct{})
		r.gates[jobID] = g
	}
	return g
}

// waitGate blocks at jobID's gate until it is released or ctx is done.
func (r *Runtime) waitGate(ctx context.Context, jobID string) error {
	r.mu.Lock()
	g := r.gate(jobID)
	r.blocked[jobID]++
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.blocked[jobID]--
		r.mu.Unlock()
	}()
	select {
	case <-g:
		return nil
	case <-ctx.Done():
		return cancelled(ctx)
	}
}

// previousSession is the session of the leftovers: not any agent's own.
const previousSession = "fake-previous-process"

// Cleanup removes what req lets go: the leftovers (a previous process's)
// and the running attempts (this process's) its Keep rejects; a removed
// running attempt ends with a Failure.
func (r *Runtime) Cleanup(_ context.Context, req containers.CleanupRequest) ([]messages.JobAttempt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Cleanups++
	var removed []messages.JobAttempt
	for k := range r.leftovers {
		if req.Removes(req.Installation, previousSession, k) {
			delete(r.leftovers, k)
			removed = append(removed, k)
		}
	}
	for k, cancel := range r.running {
		if req.Removes(req.Installation, req.Session, k) {
			cancel(errRemoved)
			removed = append(removed, k)
		}
	}
	r.stats.Removed += len(removed)
	slices.SortFunc(removed, func(x, y messages.JobAttempt) int {
		return cmp.Or(strings.Compare(x.JobID, y.JobID), cmp.Compare(x.Attempt, y.Attempt))
	})
	return removed, nil
}

// Close counts its calls; the fake holds nothing to release.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Closes++
	return nil
}

// Stats returns the counters.
func (r *Runtime) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

func cloneEnvs(envs map[string][]string) map[string][]string {
	if envs == nil {
		return nil
	}
	out := make(map[string][]string, len(envs))
	for t, names := range envs {
		out[t] = slices.Clone(names)
	}
	return out
}
