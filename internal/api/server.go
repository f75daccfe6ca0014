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

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/messages"
)

// Defaults of Options.
const (
	DefaultMaxBody   = 64 << 20
	DefaultJobMemory = 256 << 20
	// keepAlive is the period of SSE comments: proxies close idle streams.
	keepAlive = 15 * time.Second
	// queuePoll is how often a queue event stream asks the backend.
	queuePoll = time.Second
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Prefix is the NATS subject prefix ("" = messages.DefaultPrefix).
	Prefix string
	// ClientID is the frontendclient id. Keep it stable across restarts:
	// results that finish while the API is down then reach the next
	// process. "" = "ingo-api-" + host name.
	ClientID string
	// AdminToken, when set, is required as "Authorization: Bearer <token>"
	// by DELETE /api/v1/jobs/{id}, by submissions with debug "ssh", and to
	// receive "ssh" events (the credentials).
	AdminToken string
	// MaxBody bounds a request body (default 64 MiB); more gets 413.
	MaxBody int64
	// JobMemory bounds the jobs and results kept (default 256 MiB); the
	// oldest finished jobs are forgotten first.
	JobMemory int64
	// PingInterval is the frontendclient heartbeat (0 = its default);
	// /readyz wants a pong within readyPings of them.
	PingInterval time.Duration
	// Log receives warnings; nil discards them.
	Log *slog.Logger
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

// Server is the HTTP API. Create it with New.
type Server struct {
	opts    Options
	log     *slog.Logger
	client  *frontendclient.Client
	store   *store
	stats   *counters
	handler http.Handler
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
	s := &Server{opts: o, log: o.Log, store: newStore(o.JobMemory), stats: newCounters()}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	c, err := frontendclient.New(ctx, nc, frontendclient.Options{
		Name:         "ingo-api",
		ClientID:     o.ClientID,
		Prefix:       o.Prefix,
		PingInterval: o.PingInterval,
		// Every result is stored before the backend forgets it, also those
		// of jobs an earlier API process submitted.
		OnResult: func(m *messages.BackendJobDone) error { s.store.stored(m, time.Now()); return nil },
		Log:      o.Log,
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
// OpenAPI path) and handler.
type route struct {
	method, pattern string
	h               http.HandlerFunc
}

// routes lists every route; the OpenAPI test reads it too.
func (s *Server) routes() []route {
	return []route{
		{"POST", "/api/v1/jobs", s.postJob},
		{"GET", "/api/v1/jobs/{id}", s.getJob},
		{"DELETE", "/api/v1/jobs/{id}", s.deleteJob},
		{"GET", "/api/v1/jobs/{id}/events", s.jobEvents},
		{"POST", "/api/v1/tasks", s.postTask},
		{"GET", "/api/v1/queue", s.getQueue},
		{"GET", "/api/v1/queue/events", s.queueEvents},
		{"GET", "/api/v1/environments", s.getEnvironments},
		{"GET", "/api/v1/agents", s.getAgents},
		{"GET", "/api/v1/openapi.json", s.getOpenAPI},
		{"GET", "/healthz", s.healthz},
		{"GET", "/readyz", s.readyz},
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
				s.serve(w, r, r.Method+" "+p, func(w http.ResponseWriter, r *http.Request) {
					writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
						fmt.Sprintf("%s does not take %s; use %s", p, r.Method, allowed))
				})
				return
			}
			s.serve(w, r, rt.method+" "+p, rt.h)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, "unknown", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, "not_found",
				fmt.Sprintf("no route %s %s; the routes are listed at /api/v1/openapi.json and in docs/api.md", r.Method, r.URL.Path))
		})
	})
	return mux
}

// serve runs h with the body bounded, panics turned into 500, and the
// answer counted under name.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, name string, h http.HandlerFunc) {
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
	r.Body = http.MaxBytesReader(rec, r.Body, s.opts.MaxBody)
	h(rec, r)
}

// statusWriter remembers the status code; Flush passes through for SSE.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
