package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ingo-grader/ingo/messages"
)

// namespace prefixes every ingo metric.
const namespace = "ingo"

// NewRegistry returns a registry with the Go runtime and process
// collectors (go_*, process_*).
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves reg in the Prometheus exposition formats (for /metrics).
// A collector that fails is reported in the response, the others are
// still served.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg, // promhttp_metric_handler_errors_total
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// statuses are the job statuses, whose counters start at 0 so that rates
// exist before the first job of a status.
var statuses = []messages.Status{
	messages.StatusSuccess, messages.StatusFailed, messages.StatusError, messages.StatusCrash,
	messages.StatusTimeout, messages.StatusOverflow, messages.StatusKilled,
}

// statusLabel keeps the status label's values to the known set: anything
// else (there should be nothing else) is "invalid".
func statusLabel(s messages.Status) string {
	if s.Valid() {
		return string(s)
	}
	return "invalid"
}

// Histogram buckets, in seconds.
var (
	// waitBuckets: from an idle cluster (milliseconds) to a deadline rush.
	waitBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
	// runBuckets: grading jobs take seconds; limits allow up to 30 min.
	runBuckets = []float64{.05, .1, .25, .5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800}
	// startBuckets: a container starts in about a second; a cold image or
	// a busy daemon takes longer.
	startBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60}
)

func newDesc(subsystem, name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, subsystem, name), help, labels, nil)
}

// statValue is one series read from a component's stats S at scrape time.
type statValue[S any] struct {
	desc *prometheus.Desc
	get  func(S) float64
}

// statValues are the counters and gauges read from one S.
type statValues[S any] struct{ counters, gauges []statValue[S] }

func (v statValues[S]) describe(ch chan<- *prometheus.Desc) {
	for _, x := range v.counters {
		ch <- x.desc
	}
	for _, x := range v.gauges {
		ch <- x.desc
	}
}

func (v statValues[S]) collect(ch chan<- prometheus.Metric, s S) {
	for _, x := range v.counters {
		ch <- prometheus.MustNewConstMetric(x.desc, prometheus.CounterValue, x.get(s))
	}
	for _, x := range v.gauges {
		ch <- prometheus.MustNewConstMetric(x.desc, prometheus.GaugeValue, x.get(s))
	}
}
