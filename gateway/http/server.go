package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/sync/semaphore"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/httpserve"
	"github.com/ingo-grader/ingo/messages"
)

// Defaults of Options.
const (
	DefaultMaxBody   = 64 << 20
	DefaultJobMemory = 256 << 20
	// DefaultMaxUnfinishedBytes is Options.MaxUnfinishedBytes's default.
	DefaultMaxUnfinishedBytes = 256 << 20
	DefaultUploadMemory       = 64 << 20
	// DefaultUploadWait: a submission that cannot reserve its upload
	// memory within this gets 503 and Retry-After. Long enough to ride
	// out a burst of submissions (each read in milliseconds), short
	// enough that a frontend's request never hangs behind another's
	// large upload.
	DefaultUploadWait = 10 * time.Second
	// DefaultUploadMinRate is the slowest a body may come while it holds
	// upload memory: 128 KiB/s, about 1 Mbit/s, a slow home or campus
	// uplink. A 64 MiB upload at that rate takes 8.5 minutes; one that
	// holds its reservation longer is not a real upload.
	DefaultUploadMinRate = 128 << 10
	// keepAlive is the period of SSE comments: proxies close idle streams.
	keepAlive = 15 * time.Second
	// queuePoll is how often a queue event stream asks the backend.
	queuePoll = time.Second
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Prefix is the NATS subject prefix ("" = messages.DefaultPrefix).
	Prefix string `key:"-"`
	// ClientID is the frontendclient id. Keep it stable across restarts:
	// results that finish while the API is down then reach the next
	// process. "" = "ingo-api-" + host name.
	ClientID string `key:"client-id" check:"id" help:"client id of the HTTP API towards the backend; stable, so that results of jobs submitted before an API restart still arrive; empty: ingo-api-<host name>"`
	// AdminToken, when set, is an admin token, compared as it is (in
	// constant time). Every /api/v1 route needs a token: without
	// AdminToken and TokenKey, none is accepted.
	AdminToken string `key:"admin-token" help:"an admin token of the HTTP API besides those of ingo token (every /api/v1 route needs a token); keep it secret"`
	// TokenKey checks the self-verifying tokens of package apitoken
	// (`ingo token`); nil: only AdminToken is accepted.
	TokenKey []byte `key:"-"`
	// Frontend bounds what a frontend token may ask for (admins may ask
	// anything). The zero value lets frontends set no limit and no network.
	Frontend FrontendPolicy `key:",inline"`
	// MaxBody bounds a request body (default 64 MiB); more gets 413.
	MaxBody int64 `key:"max-body" unit:"bytes" check:"min=1048576" help:"largest HTTP request body (a submission with its task archive and files)"`
	// UploadMemory bounds the request bodies of submissions and task
	// uploads read at once, by their Content-Length (MaxBody when not
	// given); the others wait their turn unread (default 64 MiB). See
	// upload.go for what a body may cost in memory.
	UploadMemory int64 `key:"upload-memory" unit:"bytes" check:"min=1048576" help:"memory the HTTP API may spend on request bodies at once: each reserves four times its size before it is read, one token at most half of it, the others wait"`
	// UploadMinRate is the slowest a body may come, in bytes a second,
	// while it holds upload memory (after bodyGrace); a slower one is cut
	// with 408 (default DefaultUploadMinRate).
	UploadMinRate int64 `key:"upload-min-rate" unit:"bytes" check:"min=1024" help:"slowest rate, in bytes a second, at which a submission or task upload must arrive (after 30 s of grace) while it holds upload memory; a slower one is cut with 408"`
	// UploadWait bounds the wait for UploadMemory; then 503 busy with
	// Retry-After (default DefaultUploadWait).
	UploadWait time.Duration `key:"upload-wait" check:"positive" help:"how long a submission or task upload waits for its share of upload-memory before it gets 503 busy with Retry-After"`
	// MaxUnfinishedBytes bounds what one frontend token name's jobs that
	// have not finished hold in the backend's journal: their encoded
	// size, at least minJobCharge each (default 256 MiB). Waiting jobs
	// stay in the journal, whose bound (backend.journal-max-bytes, 4 GiB)
	// every client shares: without this, a token that submitted jobs of
	// 6 MiB of inputs waiting for an environment nobody offers
	// (wait_for_environment) filled it in minutes, and every other
	// course's new jobs were refused.
	MaxUnfinishedBytes int64 `key:"frontend-max-unfinished-bytes" unit:"bytes" check:"min=1048576" help:"most bytes one frontend token name's jobs not finished yet may hold in the backend's job journal (their encoded size, at least 2 KiB each); more are refused (429 queue_full): the journal (backend.journal-max-bytes) is every client's"`
	// JobMemory bounds the jobs and results kept (default 256 MiB); the
	// oldest finished jobs are forgotten first.
	JobMemory int64 `key:"job-memory" unit:"bytes" check:"min=1048576" help:"memory bound of the jobs and results the API keeps for GET /api/v1/jobs/{id}; the oldest finished ones go first"`
	// PingInterval is the frontendclient heartbeat (0 = its default);
	// /readyz wants a pong within readyPings of them.
	PingInterval time.Duration `key:"-"`
	// Log receives warnings; nil discards them.
	Log *slog.Logger `key:"-"`
}

// DefaultOptions returns the bounds zero fields stand for; the rest is for
// the caller to give.
func DefaultOptions() Options {
	return Options{MaxBody: DefaultMaxBody, UploadMemory: DefaultUploadMemory, UploadWait: DefaultUploadWait, UploadMinRate: DefaultUploadMinRate, JobMemory: DefaultJobMemory, MaxUnfinishedBytes: DefaultMaxUnfinishedBytes}
}

// readyPings: /readyz fails after this many ping intervals without a pong.
const readyPings = 5

func (o Options) withDefaults() Options {
	if o.ClientID == "" {
		o.ClientID = "ingo-api-" + idToken(hostname())
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.JobMemory <= 0 {
		o.JobMemory = DefaultJobMemory
	}
	if o.MaxUnfinishedBytes <= 0 {
		o.MaxUnfinishedBytes = DefaultMaxUnfinishedBytes
	}
	if o.UploadMemory <= 0 {
		o.UploadMemory = DefaultUploadMemory
	}
	if o.UploadWait <= 0 {
		o.UploadWait = DefaultUploadWait
	}
	if o.UploadMinRate <= 0 {
		o.UploadMinRate = DefaultUploadMinRate
	}
	if o.PingInterval <= 0 {
		o.PingInterval = frontendclient.DefaultPingInterval
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

// idToken turns s into a valid client id (letters, digits, '-', '_'),
// within messages.MaxIDLength.
func idToken(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, s)
	if s == "" {
		s = "local"
	}
	if len("ingo-api-"+s) > messages.MaxIDLength {
		s = s[:messages.MaxIDLength-len("ingo-api-")]
	}
	return s
}

// taskDiskBudget is what the task folders being unpacked at once may take
// in the temporary directory. UploadMemory bounds what bodies may be, but
// a few KiB of gzip unpack to bundle.DefaultMaxBytes: without a bound of
// its own, a frontend's concurrent small bombs filled the disk (or, on a
// tmpfs, the memory). Each unpacking reserves DefaultMaxBytes, and keeps
// what its folder takes until its request ends: sixteen at worst, any
// number of small ones.
const taskDiskBudget = 16 * bundle.DefaultMaxBytes

// Server is the HTTP API. Create it with New.
type Server struct {
	opts   Options
	log    *slog.Logger
	nc     *nats.Conn
	client *frontendclient.Client
	// uploads shares UploadMemory among the bodies being read, half of
	// it per token at most.
	uploads *uploadBudget
	// taskDisk bounds the bytes of the task folders unpacked at once in
	// the temporary directory (taskDiskBudget).
	taskDisk *semaphore.Weighted
	// taskParses bounds the task.yaml files parsed at once
	// (maxTaskParses).
	taskParses *semaphore.Weighted
	// values shares the JSON values of the job bodies being decoded at
	// once (admitValues).
	values *uploadBudget
	store  *store
	tasks  *taskOwners
	specs  *taskSpecs
	// snaps is the queue snapshot every token's views share (snapshot.go).
	snaps snapshots
	// paged bounds each token name's paged queue requests (pagedqueue.go).
	paged pagedBudget
	// lookups bounds each token name's lookups of single jobs the
	// snapshot leaves out (jobs.go, fromQueue).
	lookups pagedBudget
	// historyTurns bounds each token name's history requests in flight.
	historyTurns historyTurns
	// abandoned: submissions that went unanswered, by owner.
	abandoned *abandonedJobs
	stats     *counters
	handler   http.Handler
	// ctx ends with Close: it stops the goroutines following jobs and
	// the event streams.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New creates the API's frontendclient on nc (which the caller keeps
// owning) and the handler. It does not wait for the backend: /readyz says
// when it answers.
func New(ctx context.Context, nc *nats.Conn, o Options) (*Server, error) {
	o = o.withDefaults()
	s := &Server{opts: o, log: o.Log, nc: nc, store: newStore(o.JobMemory), tasks: newTaskOwners(maxTasksPerOwner), specs: newTaskSpecs(maxSpecBytesPerOwner), abandoned: newAbandonedJobs(maxAbandoned), lookups: pagedBudget{budget: jobLookups, refusal: errLookupsThrottled}, stats: newCounters(),
		uploads: newUploadBudget(o.UploadMemory, o.UploadMemory/2), taskDisk: semaphore.NewWeighted(taskDiskBudget),
		taskParses: semaphore.NewWeighted(maxTaskParses),
		values:     newUploadBudget(valuesBudget, maxJobValues)}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	c, err := frontendclient.New(ctx, nc, frontendclient.Options{
		Name:     "ingo-api",
		ClientID: o.ClientID,
		// The API confines frontend tokens itself; on NATS it is an
		// admin, so that an admin token sees and kills every job.
		Admin:        true,
		Prefix:       o.Prefix,
		PingInterval: o.PingInterval,
		// Every result is stored before the backend forgets it, also those
		// of jobs an earlier API process submitted.
		OnResult: func(m *messages.BackendJobDone) error { s.store.stored(m, time.Now()); return nil },
		// The starts of jobs an earlier process submitted, adopted while
		// they waited: their event streams would otherwise miss them.
		OnStarted: func(m *messages.BackendJobStarted) { s.store.adoptedStarted(m, time.Now()) },
		Log:       o.Log,
	})
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("api: %w", err)
	}
	s.client = c
	s.handler = s.routeHandler()
	return s, nil
}

// Handler serves the routes of docs/api.md.
func (s *Server) Handler() http.Handler { return s.handler }

// Client is the API's frontendclient (for metrics and tests).
func (s *Server) Client() *frontendclient.Client { return s.client }

// Close ends the event streams and closes the client. Jobs go on in the
// backend; a later Server with the same ClientID gets their results.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		s.cancel()
		err = s.client.Close()
		s.wg.Wait()
	})
	return err
}

// route is one entry of the API: method, ServeMux pattern (also the
// OpenAPI path) and handler; open routes need no token.
type route struct {
	method, pattern string
	h               http.HandlerFunc
	open            bool
}

// routes lists every route; the OpenAPI test reads it too. Every /api/v1
// route needs a token (DESIGN.md §7); the probes stay open.
func (s *Server) routes() []route {
	return []route{
		{"POST", "/api/v1/jobs", s.postJob, false},
		{"GET", "/api/v1/jobs", s.listJobs, false},
		{"GET", "/api/v1/jobs/{id}", s.getJob, false},
		{"DELETE", "/api/v1/jobs/{id}", s.deleteJob, false},
		{"GET", "/api/v1/jobs/{id}/events", s.jobEvents, false},
		{"GET", "/api/v1/history/summary", s.historySummaryHandler, false},
		{"POST", "/api/v1/tasks", s.postTask, false},
		{"GET", "/api/v1/queue", s.getQueue, false},
		{"GET", "/api/v1/queue/events", s.queueEvents, false},
		{"GET", "/api/v1/environments", s.getEnvironments, false},
		{"GET", "/api/v1/agents", s.getAgents, false},
		{"GET", "/api/v1/openapi.json", s.getOpenAPI, false},
		{"GET", "/healthz", s.healthz, true},
		{"GET", "/readyz", s.readyz, true},
	}
}

// routeHandler groups the routes by path so that a wrong method gets a
// JSON 405 with Allow (ServeMux's own 405 is plain text), and adds a JSON
// 404 for everything else.
func (s *Server) routeHandler() http.Handler {
	mux := http.NewServeMux()
	byPath := map[string]map[string]route{}
	var order []string
	for _, r := range s.routes() {
		if byPath[r.pattern] == nil {
			byPath[r.pattern] = map[string]route{}
			order = append(order, r.pattern)
		}
		byPath[r.pattern][r.method] = r
	}
	for _, p := range order {
		methods := byPath[p]
		var allow []string
		for m := range methods {
			allow = append(allow, m)
		}
		allowed := strings.Join(sortedStrings(allow), ", ")
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			rt, ok := methods[r.Method]
			if !ok && r.Method == http.MethodHead {
				rt, ok = methods[http.MethodGet]
			}
			if !ok {
				w.Header().Set("Allow", allowed)
				s.serve(w, r, r.Method+" "+p, true, func(w http.ResponseWriter, r *http.Request) {
					writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
						fmt.Sprintf("%s does not take %s; use %s", p, r.Method, allowed))
				})
				return
			}
			s.serve(w, r, rt.method+" "+p, rt.open, rt.h)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, "unknown", true, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, "not_found",
				fmt.Sprintf("no route %s %s; the routes are listed at /api/v1/openapi.json and in docs/api.md", r.Method, r.URL.Path))
		})
	})
	notFound := mux
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeMux answers a path it would clean (an empty segment, as in
		// /api/v1/jobs//events from an empty job id, or a dot segment)
		// with an HTML redirect; an API client wants a JSON 404.
		if p := r.URL.Path; strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
			strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..") {
			s.serve(w, r, "unknown", true, func(w http.ResponseWriter, r *http.Request) {
				writeError(w, http.StatusNotFound, "not_found",
					fmt.Sprintf("no route %s %s: the path has an empty or dot segment (an empty job id?)", r.Method, r.URL.Path))
			})
			return
		}
		notFound.ServeHTTP(w, r)
	})
}

// apiCSP forbids everything: an API answer is data, never a document.
const apiCSP = "default-src 'none'; frame-ancestors 'none'; sandbox"

// serve runs h with the body bounded, panics turned into 500, and the
// answer counted under name; writes from another origin get 403 and,
// unless open, a request without a valid token 401.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, name string, open bool, h http.HandlerFunc) {
	// Answers hold what others wrote (feedback, names, the path asked
	// for) on the origin where the dashboard keeps its token: a browser
	// must never take one for a page, a script or a frame.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", apiCSP)
	rec := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("panic in API handler", "route", name, "panic", p, "stack", string(debug.Stack()))
			if rec.code == 0 {
				writeError(rec, http.StatusInternalServerError, "internal", "the API failed on this request; it is logged")
			}
		}
		s.stats.request(name, rec.status())
	}()
	if err := checkOrigin(r); err != nil {
		fail(rec, err)
		return
	}
	if !open {
		var err error
		if r, err = s.authenticate(r); err != nil {
			rec.Header().Set("WWW-Authenticate", `Bearer realm="ingo"`)
			fail(rec, err)
			return
		}
		// A token holder's connection keeps its place whatever
		// strangers open (internal/httpserve).
		httpserve.Trust(r.Context(), who(r).owner())
	}
	r.Body = http.MaxBytesReader(rec, r.Body, s.opts.MaxBody)
	h(rec, r)
}
