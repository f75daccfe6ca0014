package api

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Stats are the API's counters since New, for Prometheus.
type Stats struct {
	// Requests counts answers by route ("GET /api/v1/jobs/{id}", or
	// "unknown" for paths no route serves) and status code, sorted.
	Requests []RequestCount
	// JobsSubmitted counts jobs the backend accepted through the API.
	JobsSubmitted int64
	// SSEClients is the number of event streams open now.
	SSEClients int64
	// JobsKept and JobBytes describe the job store now (see JobMemory).
	JobsKept int
	JobBytes int64
}

// RequestCount is one counter of Stats.Requests.
type RequestCount struct {
	Route string
	Code  int
	Count int64
}

type routeCode struct {
	route string
	code  int
}

type counters struct {
	mu            sync.Mutex
	requests      map[routeCode]int64
	jobsSubmitted atomic.Int64
	sseClients    atomic.Int64
}

func newCounters() *counters { return &counters{requests: map[routeCode]int64{}} }

func (c *counters) request(route string, code int) {
	c.mu.Lock()
	c.requests[routeCode{route, code}]++
	c.mu.Unlock()
}

// Stats returns the counters; safe from any goroutine.
func (s *Server) Stats() Stats {
	st := Stats{JobsSubmitted: s.stats.jobsSubmitted.Load(), SSEClients: s.stats.sseClients.Load()}
	s.stats.mu.Lock()
	for k, n := range s.stats.requests {
		st.Requests = append(st.Requests, RequestCount{Route: k.route, Code: k.code, Count: n})
	}
	s.stats.mu.Unlock()
	slices.SortFunc(st.Requests, func(a, b RequestCount) int {
		if c := strings.Compare(a.Route, b.Route); c != 0 {
			return c
		}
		return a.Code - b.Code
	})
	st.JobsKept, st.JobBytes = s.store.size()
	return st
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
