package metrics

import "github.com/prometheus/client_golang/prometheus"

// PoolStats are a Docker agent's warm pool counts (containers/docker
// PoolStats): counters only grow, Idle is the current value.
type PoolStats struct {
	Hits, Misses, Bypassed, Made, Discarded, Reshaped uint64
	Idle                                              int
}

// poolCollector reads the pool's counts at scrape time.
type poolCollector struct {
	stats  func() PoolStats
	values statValues[PoolStats]
}

// RegisterPool exports a Docker agent's warm pool counts, read from stats
// at every scrape (it must be safe to call from any goroutine).
func RegisterPool(reg prometheus.Registerer, stats func() PoolStats) error {
	v := func(name, help string, get func(PoolStats) float64) statValue[PoolStats] {
		return statValue[PoolStats]{newDesc("agent", name, help), get}
	}
	return reg.Register(poolCollector{stats: stats, values: statValues[PoolStats]{
		counters: []statValue[PoolStats]{
			v("pool_hits_total", "Jobs handed a warm container of the pool.", func(s PoolStats) float64 { return float64(s.Hits) }),
			v("pool_misses_total", "Jobs the pool was for that found no idle container (started cold).", func(s PoolStats) float64 { return float64(s.Misses) }),
			v("pool_bypassed_total", "Jobs the pool is not for (SSH, debug, network grading, course files, a large input, or limits other than the pool's), started cold.", func(s PoolStats) float64 { return float64(s.Bypassed) }),
			v("pool_made_total", "Containers the pool started.", func(s PoolStats) float64 { return float64(s.Made) }),
			v("pool_discarded_total", "Idle pool containers removed unused (died, image changed, new limits, agent stopping).", func(s PoolStats) float64 { return float64(s.Discarded) }),
			v("pool_reshaped_total", "Times the pool was remade for the limits recent jobs ask.", func(s PoolStats) float64 { return float64(s.Reshaped) }),
		},
		gauges: []statValue[PoolStats]{
			v("pool_idle", "Idle containers of the pool waiting for a job now.", func(s PoolStats) float64 { return float64(s.Idle) }),
		},
	}})
}

// Describe implements prometheus.Collector.
func (c poolCollector) Describe(ch chan<- *prometheus.Desc) { c.values.describe(ch) }

// Collect implements prometheus.Collector.
func (c poolCollector) Collect(ch chan<- prometheus.Metric) { c.values.collect(ch, c.stats()) }
