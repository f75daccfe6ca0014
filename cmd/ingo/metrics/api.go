package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// APIStats are the HTTP API's counters, as the API serves them: counters
// only grow, SSEClients is the current value.
type APIStats struct {
	// Requests counts answered requests by route pattern (e.g.
	// "GET /api/v1/jobs/{id}", never the raw path: that would make a
	// series per job) and status code.
	Requests map[APIRoute]uint64
	// SSEClients is the number of event streams open now.
	SSEClients int
	// JobsSubmitted counts jobs the API submitted to the backend.
	JobsSubmitted uint64
	// JobsKept and JobBytes describe the API's job store now.
	JobsKept int
	JobBytes int64
}

// APIRoute is a route and the status code of its answers.
type APIRoute struct {
	Route string
	Code  int
}

var (
	apiRequests      = newDesc("api", "requests_total", "HTTP API requests answered, by route pattern and status code.", "route", "code")
	apiSSEClients    = newDesc("api", "sse_clients", "Server-sent event streams open now.")
	apiJobsSubmitted = newDesc("api", "jobs_submitted_total", "Jobs submitted through the HTTP API.")
	apiJobsKept      = newDesc("api", "jobs_kept", "Jobs the API keeps (to answer status and result requests).")
	apiJobBytes      = newDesc("api", "job_store_bytes", "Approximate bytes of the jobs the API keeps.")
)

// apiCollector reads the API's counters at scrape time.
type apiCollector struct{ stats func() APIStats }

// RegisterAPI exports the HTTP API's counters, read from stats at every
// scrape (it must be safe to call from any goroutine).
func RegisterAPI(reg prometheus.Registerer, stats func() APIStats) error {
	return reg.Register(apiCollector{stats})
}

// Describe implements prometheus.Collector.
func (apiCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- apiRequests
	ch <- apiSSEClients
	ch <- apiJobsSubmitted
	ch <- apiJobsKept
	ch <- apiJobBytes
}

// Collect implements prometheus.Collector.
func (c apiCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	for r, n := range s.Requests {
		ch <- prometheus.MustNewConstMetric(apiRequests, prometheus.CounterValue, float64(n), r.Route, strconv.Itoa(r.Code))
	}
	ch <- prometheus.MustNewConstMetric(apiSSEClients, prometheus.GaugeValue, float64(s.SSEClients))
	ch <- prometheus.MustNewConstMetric(apiJobsSubmitted, prometheus.CounterValue, float64(s.JobsSubmitted))
	ch <- prometheus.MustNewConstMetric(apiJobsKept, prometheus.GaugeValue, float64(s.JobsKept))
	ch <- prometheus.MustNewConstMetric(apiJobBytes, prometheus.GaugeValue, float64(s.JobBytes))
}
