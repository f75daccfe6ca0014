package metrics

import (
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	natsReconnects = newDesc("nats", "reconnects_total", "Reconnections of the component's NATS connection.", "component")
	natsConnected  = newDesc("nats", "connected", "1 while the component's NATS connection is up.", "component")
)

// natsConn reads one connection's state at scrape time.
type natsConn struct {
	component string
	nc        *nats.Conn
}

// RegisterNATS exports the reconnects and the state of nc, labelled with
// component ("backend", "agent", "api"). Register each component once.
func RegisterNATS(reg prometheus.Registerer, component string, nc *nats.Conn) error {
	return reg.Register(&natsConn{component: component, nc: nc})
}

// Describe implements prometheus.Collector. The descriptors are shared by
// every connection (they differ by label), so the collector is unchecked
// for them: it describes nothing, and Register checks its label values at
// Gather instead.
func (c *natsConn) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c *natsConn) Collect(ch chan<- prometheus.Metric) {
	up := 0.0
	if c.nc.IsConnected() {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(natsReconnects, prometheus.CounterValue, float64(c.nc.Stats().Reconnects), c.component)
	ch <- prometheus.MustNewConstMetric(natsConnected, prometheus.GaugeValue, up, c.component)
}
