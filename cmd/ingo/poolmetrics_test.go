package main

import (
	"testing"

	"github.com/ingo-grader/ingo/cmd/ingo/metrics"
	"github.com/ingo-grader/ingo/containers/docker"
	"github.com/ingo-grader/ingo/containers/mcq"
)

// The agent grades MCQ tasks beside Docker (agent.mcq, on by default),
// so its runtime is the Docker one wrapped: the warm pool's metrics
// (docs/metrics.md) must be there all the same. A deadline rehearsal's
// ingo up had none, so its pool's hit rate could not be read.
func TestPoolMetricsBehindMCQ(t *testing.T) {
	reg := metrics.NewRegistry()
	if err := registerPool(reg, mcq.Wrap(&docker.Runtime{})); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "ingo_agent_pool_hits_total" {
			return
		}
	}
	t.Fatal("no ingo_agent_pool_hits_total for a Docker runtime wrapped for MCQ")
}
