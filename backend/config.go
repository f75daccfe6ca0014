package backend

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ingo-grader/ingo/internal/fairuse"
	"github.com/ingo-grader/ingo/internal/settings"
	"github.com/ingo-grader/ingo/messages"
)

// Config holds the backend's settings. DefaultConfig gives the defaults;
// the tags declare each setting's key, help and bounds (internal/settings),
// from which cmd/ingo reads files, variables and flags.
type Config struct {
	// Prefix of every subject (default "ingo").
	Prefix string `key:"-"`
	// HeartbeatInterval is how often the backend checks agent liveness;
	// agents ping at their own interval (1 s by default).
	HeartbeatInterval time.Duration `key:"heartbeat-interval" check:"positive" help:"how often the backend checks that agents are alive"`
	// HeartbeatMisses: an agent silent for HeartbeatInterval × HeartbeatMisses
	// is lost. The defaults drop an agent within 6 s of silence.
	HeartbeatMisses int `key:"heartbeat-misses" check:"min=1" help:"an agent silent for heartbeat-interval × heartbeat-misses is lost"`
	// MaxAttempts bounds how often a job is tried when agents are lost
	// under it or hand it back (AgentJobRefused); after the last, the job
	// ends as crash, with what happened.
	MaxAttempts int `key:"max-attempts" check:"min=1" help:"how often a job is tried when the agents running it are lost; then it ends as crash"`
	// StartTimeout: an assigned job whose agent has not confirmed it by
	// then is taken back and re-queued (the BackendNewJob was lost).
	StartTimeout time.Duration `key:"start-timeout" check:"positive" help:"a job its agent has not confirmed within this time is taken back and queued again"`
	// EnvironmentGrace: for this long after the backend starts, a job for an
	// environment no agent offers waits (agents are still saying hello)
	// instead of failing at once.
	EnvironmentGrace time.Duration `key:"environment-grace" check:"nonneg" help:"after start, jobs for environments no agent offers wait this long for agents to say hello"`
	// DoneRetention is how long a finished job's id stays taken (and its
	// result kept, within DoneMemory, to answer a client that resubmits it
	// after a reconnect).
	DoneRetention time.Duration `key:"done-retention" check:"nonneg" help:"how long a finished job's id stays taken and its result kept for a reconnecting client"`
	// DoneMemory bounds the bytes of results kept for DoneRetention.
	DoneMemory int64 `key:"done-memory" unit:"bytes" check:"nonneg" help:"memory bound of the results kept for done-retention"`
	// ClientTimeout: a client silent this long (clients ping every second)
	// and without live jobs is forgotten, so that frontends restarting with
	// new ids do not pile up. It says hello again if it comes back.
	ClientTimeout time.Duration `key:"client-timeout" check:"positive" help:"a client silent this long and waiting for no job is forgotten"`
	// OrphanTimeout: waiting jobs whose environment has had no agent for
	// this long (every agent offering it was lost) end as crash, unless
	// their client asked to wait for the environment.
	OrphanTimeout time.Duration `key:"orphan-timeout" check:"positive" help:"waiting jobs of an environment no agent has offered for this long end as crash"`
	// ResultRetention is how long a result its client has not
	// acknowledged is kept (in the durable journal) and sent again; then
	// it is dropped. A frontend down over a long weekend still gets its
	// results with the default of 72 h.
	ResultRetention time.Duration `key:"result-retention" check:"positive" help:"how long a result its client has not acknowledged is kept and sent again; then it is dropped"`
	// ResultResend: an unacknowledged result is sent again this often to
	// its client while the client is alive, and at once when it says
	// hello.
	ResultResend time.Duration `key:"result-resend" check:"positive" help:"how often an unacknowledged result is sent again to its client while the client is alive"`
	// SnapshotJobs bounds each list of a queue snapshot (running,
	// waiting): the first jobs in dispatch order, with the counts of all
	// of them (messages.QueueSummary). 100,000 waiting jobs made a 20 MB
	// snapshot, over NATS' message size.
	SnapshotJobs int `key:"queue-snapshot-jobs" check:"min=1" help:"most jobs of each list (running, waiting) a queue snapshot holds, the first in dispatch order; its summary counts them all"`
	// CourseWeights share each environment's slots between courses, within
	// a priority, by weight: "client/course=weight" for one client's
	// course, "course=weight" for that course of every client (a course
	// is a client's: two frontends' courses of one id are two courses,
	// queue.go), 1 for a course not named. Within a course, its users
	// share its slots equally.
	CourseWeights map[string]string `key:"course-weights" help:"weights of courses in the share of slots, as client/course=weight for one client's course or course=weight for that course of every client (a positive number; 1 for a course not named); within a course, its users share equally"`
	// MaxWaitingPerCourse and MaxWaitingPerUser cap the waiting jobs of
	// one client's course, and of one user of such a course (another
	// frontend's course of the same id counts apart); a job over a cap is refused
	// (CodeQueueFull) naming it. 0: no cap.
	MaxWaitingPerCourse int `key:"max-waiting-per-course" check:"nonneg" help:"most jobs one course may have waiting; more are refused, naming the cap (0: no cap)"`
	MaxWaitingPerUser   int `key:"max-waiting-per-user" check:"nonneg" help:"most jobs one user of a course may have waiting; more are refused, naming the cap (0: no cap)"`
	// MaxSSHDebugPerClient bounds a frontend's SSH-debug jobs, waiting
	// and running, per client id: each holds an agent's SSH port and a
	// slot for up to a session (sshdebug.go). Admins are not bounded.
	// 0: no bound.
	// MaxSSHDebugPerClients sets it per client id ("client=N"), for a
	// frontend the operator trusts with more, such as an INGInious
	// webapp serving many courses under one client id.
	MaxSSHDebugPerClient  int               `key:"max-ssh-debug-per-client" check:"nonneg" help:"most SSH-debug jobs (waiting and running) one frontend client may have; more are refused, naming the cap (admins are not bounded; 0: no bound)"`
	MaxSSHDebugPerClients map[string]string `key:"max-ssh-debug-per-clients" help:"max-ssh-debug-per-client per client id, as client=N (a whole number, 0: no bound; max-ssh-debug-per-client for a client not named)"`
	// FrontendMinPriority is the most urgent priority (lower runs first)
	// a frontend's job may have; FrontendMinPriorities sets it per client
	// id. Priority comes before the fair share, so a frontend free to pick
	// one would starve every other frontend's courses (docs/security.md):
	// by default frontends use the normal priority, 0, or less urgent ones
	// (INGInious' webapp sends 1 for replays). Admins use any (priority.go).
	FrontendMinPriority   int               `key:"frontend-min-priority" help:"most urgent priority (lower runs first) a frontend's job may have; a more urgent one is refused, naming it (admins may use any)"`
	FrontendMinPriorities map[string]string `key:"frontend-min-priorities" help:"frontend-min-priority per client id, as client=priority (a whole number; frontend-min-priority for a client not named)"`
	// QueueMemoryJobs bounds how many live jobs keep their whole
	// description (inputs, task problems) in memory when the journal can
	// read them back (JobLoader): a description is a few KiB, a million
	// waiting jobs would not fit. Beyond it, only their heads (JobHead)
	// stay, and a description is read back when its job is dispatched.
	// 0: no bound.
	QueueMemoryJobs int `key:"queue-memory-jobs" check:"nonneg" help:"most live jobs whose whole description (inputs, files) stays in memory; the others' is read back from the journal when they are dispatched (0: no bound)"`
	// QueueMemoryBytes bounds the bytes of those descriptions (as
	// decoded, estimated: at least as their clients sent them) the same
	// way: a frontend chooses its jobs' size (up to one NATS message, 8
	// MiB) and shape, so a bound on their number alone let one
	// frontend's waiting jobs hold gigabytes. 0: no bound.
	QueueMemoryBytes int64 `key:"queue-memory-bytes" unit:"bytes" check:"nonneg" help:"most bytes of the descriptions (inputs, files) of live jobs kept in memory, as decoded (at least their bytes as their clients sent them); beyond, a new job's description is read back from the journal when it is dispatched (0: no bound)"`
	// Journal records transitions; nil keeps state in memory only. If it
	// also implements Replayer, Run rebuilds the state from it first, and
	// StartTimeout is also how long jobs replayed as running wait for
	// their agent to claim them.
	Journal Journal `key:"-"`
	// Observer hears of dispatched and finished jobs (for metrics); nil
	// means none. It is called from the event loop and must not block.
	Observer Observer `key:"-"`
	// History keeps every finished job's record (backend/history); nil
	// keeps none. Its Add is called from the event loop and must not
	// block.
	History History `key:"-"`
	// Serving, if set, is called once by Run when the backend starts
	// serving, after its replay (cmd/ingo tightens the collector then).
	Serving func() `key:"-"`

	weights map[string]float64 // CourseWeights, read by validate
	minPrio map[string]int     // FrontendMinPriorities, read by validate
	sshMax  map[string]int     // MaxSSHDebugPerClients, read by validate
	// queueBudget and adminQueueBudget bound each frontend's and each
	// admin's queue snapshots (throttle.go); zero: the defaults. Tests
	// set their own.
	queueBudget, adminQueueBudget fairuse.Budget
	// helloBudget bounds each agent's hellos (throttle.go); zero: the
	// default.
	helloBudget fairuse.Budget
}

// DefaultSnapshotJobs is the default of Config.SnapshotJobs, also taken
// when it is 0.
const DefaultSnapshotJobs = 1000

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
		SnapshotJobs:      DefaultSnapshotJobs,
		QueueMemoryJobs:   10_000,
		QueueMemoryBytes:  DefaultQueueMemoryBytes,

		MaxSSHDebugPerClient: DefaultMaxSSHDebugPerClient,
	}
}

// Check reports what New would refuse in c: each problem a
// *settings.Problem naming its key.
func (c Config) Check() error { return c.validate() }

// validate checks c against its tags and fills what has a default
// without being a setting.
func (c *Config) validate() error {
	if c.Prefix == "" {
		c.Prefix = messages.DefaultPrefix
	}
	if c.Journal == nil {
		c.Journal = memoryJournal{}
	}
	if c.SnapshotJobs == 0 {
		c.SnapshotJobs = DefaultSnapshotJobs
	}
	if c.queueBudget == (fairuse.Budget{}) {
		c.queueBudget = defaultQueueBudget
	}
	if c.adminQueueBudget == (fairuse.Budget{}) {
		c.adminQueueBudget = defaultAdminQueueBudget
	}
	if c.helloBudget == (fairuse.Budget{}) {
		c.helloBudget = defaultHelloBudget
	}
	c.weights = make(map[string]float64, len(c.CourseWeights))
	var errs []error
	for course, w := range c.CourseWeights {
		f, err := strconv.ParseFloat(w, 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) {
			errs = append(errs, &settings.Problem{Key: "course-weights", Msg: fmt.Sprintf("the weight of %s is %q: write a positive number, such as 2 or 0.5", course, w)})
			continue
		}
		c.weights[course] = f
	}
	c.minPrio = make(map[string]int, len(c.FrontendMinPriorities))
	for client, p := range c.FrontendMinPriorities {
		n, err := strconv.Atoi(p)
		if err != nil {
			errs = append(errs, &settings.Problem{Key: "frontend-min-priorities", Msg: fmt.Sprintf("the priority of %s is %q: write a whole number, such as -1 or 0", client, p)})
			continue
		}
		c.minPrio[client] = n
	}
	errs = append(errs, c.readSSHDebugBounds()...)
	return errors.Join(append(errs, settings.Check(c))...)
}

// DefaultQueueMemoryBytes is Config.QueueMemoryBytes' default: a deadline's
// 10,000 jobs of a few KiB each fit many times over.
const DefaultQueueMemoryBytes = 256 << 20
