package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/cmd/ingo/metrics"
)

// A backend whose lease is lost is not active any more at once, even
// while its Run is still returning: a deposed backend cut off from NATS
// took 23 s to return, and meanwhile its /readyz said ready beside the
// standby that had taken over (two active backends to a monitor).
func TestBackend_NotActiveOnceTheLeaseIsLost(t *testing.T) {
	m, err := metrics.NewBackend(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	lease := make(chan struct{})
	m.FollowLeased(new(backend.Backend), lease)
	if !m.Active() {
		t.Fatal("not active while it holds its lease")
	}
	close(lease) // deposed; Run has not returned, nobody called Follow(nil)
	if m.Active() {
		t.Fatal("still active after its lease was lost")
	}
	m.Follow(new(backend.Backend)) // a backend without a lease (not durable)
	if !m.Active() {
		t.Fatal("a backend followed without a lease is not active")
	}
}
