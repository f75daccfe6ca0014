// Package metrics exports ingo's components to Prometheus, with
// github.com/prometheus/client_golang.
//
// NewRegistry makes a registry with the Go runtime and process collectors,
// and Handler serves it. The components add to it:
//
//   - NewBackend: the backend's counters (backend.Stats), its sizes
//     (backend.Gauges, published by the event loop at every tick) and, as
//     the backend.Observer it returns, job counts by status and wait and
//     run time histograms. Follow names the backend to read; a standby
//     follows none.
//   - NewAgent: the agent's counters and sizes (agent.Stats) and, as the
//     agent.Observer it returns, job counts by status and the container
//     start latency histogram.
//   - RegisterNATS: reconnects and connection state of a NATS connection.
//   - RegisterAPI: the HTTP API's counters, read from a function that
//     returns APIStats.
//   - RegisterPool: a Docker agent's warm pool counts (PoolStats).
//
// Collectors read their sources at scrape time; none of them touches a
// component's state except through its own thread-safe accessors, and the
// observers never block. docs/metrics.md lists every metric.
//
// It lives beside cmd/ingo, its only user, rather than in internal/: it
// reads the backend and the agent, and internal/ is plumbing that imports
// no component (DESIGN.md §2).
package metrics
