package metrics_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ingo-grader/ingo/cmd/ingo/metrics"
	itest "github.com/ingo-grader/ingo/internal/testutil"
)

// describer records every metric a component registers, labelled or
// not, without collecting it.
type describer struct{ names []string }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	described := false
	for desc := range ch {
		described = true
		d.add(desc)
	}
	if !described { // an unchecked collector: its metrics say their names
		mc := make(chan prometheus.Metric, 64)
		go func() { c.Collect(mc); close(mc) }()
		for m := range mc {
			d.add(m.Desc())
		}
	}
	return nil
}

func (d *describer) add(desc *prometheus.Desc) {
	if m := fqName.FindStringSubmatch(desc.String()); m != nil {
		d.names = append(d.names, m[1])
	}
}

func (d *describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = d.Register(c)
	}
}

func (d *describer) Unregister(prometheus.Collector) bool { return true }

// TestDocs_EveryMetric: docs/metrics.md lists every ingo_* metric the
// components export, and exports nothing it lists that is gone, so that
// an operator's dashboards and alerts name real series.
func TestDocs_EveryMetric(t *testing.T) {
	d := &describer{}
	if _, err := metrics.NewBackend(d); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.NewAgent(d); err != nil {
		t.Fatal(err)
	}
	if err := metrics.RegisterAPI(d, func() metrics.APIStats { return metrics.APIStats{} }); err != nil {
		t.Fatal(err)
	}
	if err := metrics.RegisterPool(d, func() metrics.PoolStats { return metrics.PoolStats{} }); err != nil {
		t.Fatal(err)
	}
	if err := metrics.RegisterBridge(d, func() metrics.BridgeStats { return metrics.BridgeStats{} }); err != nil {
		t.Fatal(err)
	}
	srv := itest.StartNATS(t)
	if err := metrics.RegisterNATS(d, "api", itest.Connect(t, srv.URL, "metrics-doc")); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(ingo_[a-z_]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	var exported []string
	for _, n := range d.names {
		if !slices.Contains(exported, n) && regexp.MustCompile(`^ingo_`).MatchString(n) {
			exported = append(exported, n)
		}
	}
	for _, n := range exported {
		if !documented[n] {
			t.Errorf("docs/metrics.md has no row for %s", n)
		}
	}
	for n := range documented {
		if !slices.Contains(exported, n) {
			t.Errorf("docs/metrics.md lists %s, which no component exports", n)
		}
	}
	if len(exported) < 30 {
		t.Errorf("only %d metrics described: %v", len(exported), exported)
	}
}
