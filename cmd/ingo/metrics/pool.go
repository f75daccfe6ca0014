package metrics

import "github.com/prometheus/client_golang/prometheus"

// PoolStats are a Docker agent's warm pool counts (containers/docker
// PoolStats): counters only grow, Idle is the current value.
type PoolStats struct {
	Hits, Misses, Bypassed, Made, Discarded, Reshaped uint64
	Idle                                              int
}

var (
	poolHits      = newDesc("agent", "pool_hits_total", "Jobs handed a warm container of the pool.")
	poolMisses    = newDesc("agent", "pool_misses_total", "Jobs the pool was for that found no idle container (started cold).")
	poolBypassed  = newDesc("agent", "pool_bypassed_total", "Jobs the pool is not for (SSH, debug, network grading, course files, a large input, or limits other than the pool's), started cold.")
	poolMade      = newDesc("agent", "pool_made_total", "Containers the pool started.")
	poolDiscarded = newDesc("agent", "pool_discarded_total", "Idle pool containers removed unused (died, image changed, new limits, agent stopping).")
	poolReshaped  = newDesc("agent", "pool_reshaped_total", "Times the pool was remade for the limits recent jobs ask.")
	poolIdle      = newDesc("agent", "pool_idle", "Idle containers of the pool waiting for a job now.")
)

// poolCollector reads the pool's counts at scrape time.
type poolCollector struct{ stats func() PoolStats }

// RegisterPool exports a Docker agent's warm pool counts, read from stats
// at every scrape (it must be safe to call from any goroutine).
func RegisterPool(reg prometheus.Registerer, stats func() PoolStats) error {
	return reg.Register(poolCollector{stats})
}

// Describe implements prometheus.Collector.
func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolHits, poolMisses, poolBypassed, poolMade, poolDiscarded, poolReshaped, poolIdle} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	for _, v := range []struct {
		d *prometheus.Desc
		n uint64
	}{{poolHits, s.Hits}, {poolMisses, s.Misses}, {poolBypassed, s.Bypassed}, {poolMade, s.Made}, {poolDiscarded, s.Discarded}, {poolReshaped, s.Reshaped}} {
		ch <- prometheus.MustNewConstMetric(v.d, prometheus.CounterValue, float64(v.n))
	}
	ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(s.Idle))
}
