package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ingo-grader/ingo/agent"
	"github.com/ingo-grader/ingo/messages"
)

// Agent exports an agent's metrics (ingo_agent_*). Make it with NewAgent
// before the agent, put its Observer in agent.Config, and Follow the agent
// once made. It is a prometheus.Collector; its observer side is safe for
// concurrent use and never blocks.
type Agent struct {
	mu sync.Mutex
	a  *agent.Agent

	values   statValues[agent.Stats]
	refused  *prometheus.Desc
	rejected *prometheus.Desc

	finished *prometheus.CounterVec
	start    *prometheus.HistogramVec
}

// NewAgent makes the agent metrics and registers them on reg.
func NewAgent(reg prometheus.Registerer) (*Agent, error) {
	const sub = "agent"
	v := func(name, help string, get func(agent.Stats) float64) statValue[agent.Stats] {
		return statValue[agent.Stats]{newDesc(sub, name, help), get}
	}
	m := &Agent{
		values: statValues[agent.Stats]{counters: []statValue[agent.Stats]{
			v("jobs_received_total", "Jobs (attempts) received from the backend.", func(s agent.Stats) float64 { return float64(s.JobsReceived) }),
			v("kills_total", "Kills of running attempts.", func(s agent.Stats) float64 { return float64(s.Kills) }),
			v("results_resent_total", "Results sent again because the backend had not answered in time.", func(s agent.Stats) float64 { return float64(s.ResultsResent) }),
			v("results_acked_total", "Results acknowledged by the backend.", func(s agent.Stats) float64 { return float64(s.ResultsAcked) }),
			v("results_refused_total", "Results the backend refused for good (stale attempt, unknown job).", func(s agent.Stats) float64 { return float64(s.ResultsRefused) }),
			v("results_replaced_total", "Results that could not be sent as they were (too large, unencodable) and were replaced.", func(s agent.Stats) float64 { return float64(s.ResultsReplaced) }),
			v("hellos_total", "Hellos sent to the backend (start, reconnect, backend restart).", func(s agent.Stats) float64 { return float64(s.Hellos) }),
			v("backend_unreachable_total", "Messages NATS bounced because no backend listened.", func(s agent.Stats) float64 { return float64(s.NoResponders) }),
			v("send_errors_total", "Publications that failed.", func(s agent.Stats) float64 { return float64(s.SendErrors) }),
		},
			gauges: []statValue[agent.Stats]{
				v("slots", "Job slots.", func(s agent.Stats) float64 { return float64(s.Slots) }),
				v("jobs_running", "Attempts running now.", func(s agent.Stats) float64 { return float64(s.Running) }),
				v("results_pending", "Results sent and not yet answered by the backend.", func(s agent.Stats) float64 { return float64(s.PendingResults) }),
				v("memory_reserved_bytes", "Sum of the memory limits of the attempts admitted now.", func(s agent.Stats) float64 { return float64(s.MemoryInUse) * (1 << 20) }),
			}},
		refused:  newDesc(sub, "jobs_refused_total", "Jobs refused: reason is overcommit (every slot busy), shutdown or duplicate.", "reason"),
		rejected: newDesc(sub, "messages_rejected_total", "Messages dropped: reason is malformed or unexpected.", "reason"),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: sub, Name: "jobs_finished_total",
			Help: "Attempts that produced their result, by status (refused jobs included).",
		}, []string{"status"}),
		start: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: sub, Name: "container_start_seconds",
			Help:    "Time from the agent taking an attempt to its container running (task files, image, memory admission, create and start).",
			Buckets: startBuckets,
		}, []string{"env_type", "env"}),
	}
	for _, s := range statuses {
		m.finished.WithLabelValues(string(s))
	}
	if err := reg.Register(m); err != nil {
		return nil, err
	}
	return m, nil
}

// Observer is what to put in agent.Config.Observer; nil for a nil m.
func (m *Agent) Observer() agent.Observer {
	if m == nil {
		return nil
	}
	return agentObserver{m}
}

// Follow makes the metrics read a (nil: none). On a nil m it does nothing.
func (m *Agent) Follow(a *agent.Agent) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.a = a
	m.mu.Unlock()
}

func (m *Agent) followed() *agent.Agent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.a
}

// Describe implements prometheus.Collector.
func (m *Agent) Describe(ch chan<- *prometheus.Desc) {
	m.values.describe(ch)
	ch <- m.refused
	ch <- m.rejected
	m.finished.Describe(ch)
	m.start.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Agent) Collect(ch chan<- prometheus.Metric) {
	m.finished.Collect(ch)
	m.start.Collect(ch)
	a := m.followed()
	if a == nil {
		return
	}
	s := a.Stats()
	m.values.collect(ch, s)
	for reason, n := range map[string]uint64{"overcommit": s.JobsOverCommit, "shutdown": s.JobsRefused, "duplicate": s.JobsDuplicate} {
		ch <- prometheus.MustNewConstMetric(m.refused, prometheus.CounterValue, float64(n), reason)
	}
	for reason, n := range map[string]uint64{"malformed": s.Malformed, "unexpected": s.Unexpected} {
		ch <- prometheus.MustNewConstMetric(m.rejected, prometheus.CounterValue, float64(n), reason)
	}
}

type agentObserver struct{ m *Agent }

func (o agentObserver) ContainerStarted(envType, env string, latency time.Duration) {
	o.m.start.WithLabelValues(envType, env).Observe(latency.Seconds())
}

func (o agentObserver) JobFinished(status messages.Status) {
	o.m.finished.WithLabelValues(statusLabel(status)).Inc()
}
