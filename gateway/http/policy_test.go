package api

import (
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/messages"
)

// TestFrontendLimitsLeftZeroAreBounded: a frontend job that gives no
// limits runs within api.frontend-max-limits when the agents' defaults
// are over them. It ran with the defaults: 30 s, 90 s wall and 256 MiB
// where the operator allowed frontends 5 s and 64 MiB.
func TestFrontendLimitsLeftZeroAreBounded(t *testing.T) {
	e := newEnv(t, Options{AdminToken: testToken, Frontend: FrontendPolicy{
		Max:      messages.Limits{Time: 5, Memory: 64, Processes: 64, Output: 1 << 20, Disk: 64},
		Defaults: messages.Limits{Time: 30, Memory: 256, Processes: 512, Output: 1 << 20, Disk: 256},
	}})
	e.waitReady()
	front := bearer(e.token(apitoken.RoleFrontend, "course-a"))
	for _, c := range []struct {
		name   string
		limits map[string]any
		want   map[string]float64
	}{
		{"none", nil, map[string]float64{"time": 5, "hard_time": 15, "memory": 64, "processes": 64, "disk": 64}},
		{"time only", map[string]any{"time": 2}, map[string]float64{"time": 2, "hard_time": 6, "memory": 64}},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := strings.ReplaceAll(c.name, " ", "-")
			job := e.job(map[string]any{"job_id": id})
			if c.limits != nil {
				job["limits"] = c.limits
			}
			if status, data := e.postJSON("/api/v1/jobs", job, front...); status != 202 {
				t.Fatalf("submit: %d %s", status, data)
			}
			_, res := e.followToDone(id)
			got := get(get(res, "custom", "echo"), "limits")
			for k, v := range c.want {
				if get(got, k) != v {
					t.Errorf("limits.%s = %v, want %v (all: %v)", k, get(got, k), v, got)
				}
			}
		})
	}
}
