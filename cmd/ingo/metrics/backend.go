package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/messages"
)

// Backend exports a backend's metrics (ingo_backend_*). Make it with
// NewBackend before the backend, put its Observer in backend.Config, and
// Follow the backend once made. It is a prometheus.Collector; its
// observer side is safe for concurrent use and never blocks.
type Backend struct {
	mu sync.Mutex
	b  *backend.Backend
	// lease, when not nil, is closed when b lost the leadership lease:
	// b is then no longer followed, though its Run may take a while to
	// return (a deposed backend cut off from NATS waited 23 s for its
	// journal), so that /readyz and ingo_backend_active never show two
	// active backends.
	lease <-chan struct{}

	// Read from the followed backend at scrape time.
	stats          []backendValue
	rejected       *prometheus.Desc
	active         *prometheus.Desc
	queueLength    *prometheus.Desc
	gaugesAge      *prometheus.Desc
	agents, slots  *prometheus.Desc
	free, running  *prometheus.Desc
	waiting        *prometheus.Desc
	clients        *prometheus.Desc
	resultsUnacked *prometheus.Desc

	// Fed by the observer.
	finished *prometheus.CounterVec
	wait     *prometheus.HistogramVec
	run      *prometheus.HistogramVec
}

type backendValue struct {
	desc *prometheus.Desc
	get  func(backend.Stats) int64
}

// NewBackend makes the backend metrics and registers them on reg.
func NewBackend(reg prometheus.Registerer) (*Backend, error) {
	const sub = "backend"
	c := func(name, help string, get func(backend.Stats) int64) backendValue {
		return backendValue{newDesc(sub, name, help), get}
	}
	m := &Backend{
		stats: []backendValue{
			c("jobs_submitted_total", "Jobs accepted from clients.", func(s backend.Stats) int64 { return s.Submitted }),
			c("jobs_requeued_total", "Attempts lost (agent lost, start not confirmed) whose job was queued again.", func(s backend.Stats) int64 { return s.Requeued }),
			c("agents_lost_total", "Agents dropped: silent for too long, or restarted.", func(s backend.Stats) int64 { return s.AgentsLost }),
			c("results_acked_total", "Results acknowledged by their client.", func(s backend.Stats) int64 { return s.ResultsAcked }),
			c("results_resent_total", "Results sent again to their client (lost message, client or backend restart).", func(s backend.Stats) int64 { return s.ResultsResent }),
			c("results_expired_total", "Results dropped after backend.result-retention without an acknowledgement.", func(s backend.Stats) int64 { return s.ResultsExpired }),
			c("results_duplicate_total", "Results an agent sent again for an attempt that had already finished its job.", func(s backend.Stats) int64 { return s.DuplicateResults }),
			c("journal_errors_total", "Transitions the journal (JetStream) refused; the operation is refused or retried.", func(s backend.Stats) int64 { return s.JournalErrors }),
			c("send_errors_total", "Messages the backend could not publish.", func(s backend.Stats) int64 { return s.SendErrors }),
		},
		rejected:       newDesc(sub, "messages_rejected_total", "Messages refused: reason is malformed, bad_sender, unexpected, stale_attempt, refused (what the sender may not touch) or throttled (over its rate).", "reason"),
		active:         newDesc(sub, "active", "1 while this process runs the active backend, 0 while it stands by."),
		queueLength:    newDesc(sub, "queue_length", "Jobs waiting in the queue of one environment.", "env_type", "env"),
		gaugesAge:      newDesc(sub, "gauges_age_seconds", "Age of the sizes below: the event loop publishes them at every tick."),
		agents:         newDesc(sub, "agents", "Agents registered."),
		slots:          newDesc(sub, "slots", "Job slots of the registered agents."),
		free:           newDesc(sub, "free_slots", "Job slots of the registered agents without a job."),
		running:        newDesc(sub, "jobs_running", "Jobs on an agent (sent, confirmed or not)."),
		waiting:        newDesc(sub, "jobs_waiting", "Jobs waiting in any queue."),
		clients:        newDesc(sub, "clients", "Clients (frontends) known."),
		resultsUnacked: newDesc(sub, "results_unacked", "Results sent and not yet acknowledged by their client."),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: sub, Name: "jobs_finished_total",
			Help: "Jobs that got their final result, by status.",
		}, []string{"status"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: sub, Name: "job_wait_seconds",
			Help:    "Time from a job's submission to its dispatch to an agent (a retry counts from the submission too).",
			Buckets: waitBuckets,
		}, []string{"env_type", "env"}),
		run: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: sub, Name: "job_run_seconds",
			Help:    "Time from a job's last dispatch to its final result, by status; jobs that never left the queue are not observed.",
			Buckets: runBuckets,
		}, []string{"env_type", "env", "status"}),
	}
	for _, s := range statuses {
		m.finished.WithLabelValues(string(s))
	}
	if err := reg.Register(m); err != nil {
		return nil, err
	}
	return m, nil
}

// Observer is what to put in backend.Config.Observer; nil for a nil m.
func (m *Backend) Observer() backend.Observer {
	if m == nil {
		return nil
	}
	return backendObserver{m}
}

// Follow makes the metrics read b (nil: none, e.g. while standing by).
// Counters start again from 0 with a new backend, which Prometheus takes
// as a counter reset. On a nil m it does nothing.
func (m *Backend) Follow(b *backend.Backend) { m.FollowLeased(b, nil) }

// FollowLeased is Follow for a backend that serves while it holds a
// lease: once lease (leader.Lease.Done) is closed, b counts as not
// followed any more, at once. A nil lease is Follow.
func (m *Backend) FollowLeased(b *backend.Backend, lease <-chan struct{}) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.b, m.lease = b, lease
	m.mu.Unlock()
}

// Active reports whether m follows a backend (ingo_backend_active).
func (m *Backend) Active() bool { return m != nil && m.followed() != nil }

func (m *Backend) followed() *backend.Backend {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lease != nil {
		select {
		case <-m.lease:
			return nil // deposed, though its Run has not returned yet
		default:
		}
	}
	return m.b
}

// Describe implements prometheus.Collector.
func (m *Backend) Describe(ch chan<- *prometheus.Desc) {
	for _, v := range m.stats {
		ch <- v.desc
	}
	for _, d := range []*prometheus.Desc{m.rejected, m.active, m.queueLength, m.gaugesAge, m.agents, m.slots,
		m.free, m.running, m.waiting, m.clients, m.resultsUnacked} {
		ch <- d
	}
	m.finished.Describe(ch)
	m.wait.Describe(ch)
	m.run.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Backend) Collect(ch chan<- prometheus.Metric) {
	m.finished.Collect(ch)
	m.wait.Collect(ch)
	m.run.Collect(ch)
	b := m.followed()
	if b == nil {
		ch <- prometheus.MustNewConstMetric(m.active, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(m.active, prometheus.GaugeValue, 1)
	s := b.Stats()
	for _, v := range m.stats {
		ch <- prometheus.MustNewConstMetric(v.desc, prometheus.CounterValue, float64(v.get(s)))
	}
	for reason, n := range map[string]int64{"malformed": s.Malformed, "bad_sender": s.BadSender,
		"unexpected": s.Unexpected, "stale_attempt": s.StaleAttempts, "refused": s.Refused, "throttled": s.Throttled} {
		ch <- prometheus.MustNewConstMetric(m.rejected, prometheus.CounterValue, float64(n), reason)
	}
	g := b.Gauges()
	if g.At.IsZero() {
		return // not serving yet: no sizes to tell
	}
	ch <- prometheus.MustNewConstMetric(m.gaugesAge, prometheus.GaugeValue, time.Since(g.At).Seconds())
	for _, q := range g.Queues {
		ch <- prometheus.MustNewConstMetric(m.queueLength, prometheus.GaugeValue, float64(q.Waiting), q.EnvType, q.Env)
	}
	for d, n := range map[*prometheus.Desc]int{m.agents: g.Agents, m.slots: g.Slots, m.free: g.FreeSlots,
		m.running: g.Running, m.waiting: g.Waiting, m.clients: g.Clients, m.resultsUnacked: g.Unacked} {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(n))
	}
}

// backendObserver feeds the observer metrics; prometheus' vectors are
// lock-free on the hot path once a label set exists.
type backendObserver struct{ m *Backend }

func (o backendObserver) JobDispatched(j backend.ObservedJob, wait time.Duration) {
	o.m.wait.WithLabelValues(j.EnvType, j.Env).Observe(wait.Seconds())
}

func (o backendObserver) JobFinished(j backend.ObservedJob, status messages.Status, run time.Duration) {
	st := statusLabel(status)
	o.m.finished.WithLabelValues(st).Inc()
	if run > 0 {
		o.m.run.WithLabelValues(j.EnvType, j.Env, st).Observe(run.Seconds())
	}
}
