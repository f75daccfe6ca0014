package metrics

import "github.com/prometheus/client_golang/prometheus"

// BridgeStats are the INGInious bridge's counters, as the bridge serves
// them: Closed only grows, the others are current values.
type BridgeStats struct {
	// Conns is the number of webapp connections open.
	Conns int64
	// Closed counts the connections the bridge closed, by reason
	// (not-allowed, too-many-conns, write-stalled...).
	Closed map[string]uint64
	// Jobs and UnfinishedBytes are the jobs followed now and what they
	// count against inginious.max-unfinished-bytes.
	Jobs            int
	UnfinishedBytes int64
}

var (
	bridgeConns      = newDesc("inginious", "connections", "INGInious webapp connections open now.")
	bridgeClosed     = newDesc("inginious", "connections_closed_total", "Connections the INGInious bridge closed, by reason.", "reason")
	bridgeJobs       = newDesc("inginious", "jobs", "Jobs the INGInious bridge follows now (submitted, not finished).")
	bridgeUnfinished = newDesc("inginious", "unfinished_bytes", "What the jobs the bridge follows count against inginious.max-unfinished-bytes.")
)

// bridgeCollector reads the bridge's counters at scrape time.
type bridgeCollector struct{ stats func() BridgeStats }

// RegisterBridge exports the INGInious bridge's counters, read from stats
// at every scrape (it must be safe to call from any goroutine): an
// operator sees a flood of connections or of jobs, which the bridge's log
// only samples.
func RegisterBridge(reg prometheus.Registerer, stats func() BridgeStats) error {
	return reg.Register(bridgeCollector{stats})
}

// Describe implements prometheus.Collector.
func (bridgeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- bridgeConns
	ch <- bridgeClosed
	ch <- bridgeJobs
	ch <- bridgeUnfinished
}

// Collect implements prometheus.Collector.
func (c bridgeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(bridgeConns, prometheus.GaugeValue, float64(s.Conns))
	for reason, n := range s.Closed {
		ch <- prometheus.MustNewConstMetric(bridgeClosed, prometheus.CounterValue, float64(n), reason)
	}
	ch <- prometheus.MustNewConstMetric(bridgeJobs, prometheus.GaugeValue, float64(s.Jobs))
	ch <- prometheus.MustNewConstMetric(bridgeUnfinished, prometheus.GaugeValue, float64(s.UnfinishedBytes))
}
