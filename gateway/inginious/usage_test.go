package bridge

import (
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/ingo-grader/ingo/messages"
)

// TestJobDoneUsage: the webapp finds what a job used in its custom values
// (custom["ingo_usage"]), a grader's own value of that key wins, and a
// result without usage adds nothing.
func TestJobDoneUsage(t *testing.T) {
	t.Parallel()
	full := &messages.Usage{WallTime: 1.3, CPUTime: 1.02, MemoryPeak: 53,
		Students: &messages.StudentUsage{Containers: 2, CPUTime: 1.19, MemoryPeak: 68.2}}
	for _, tc := range []struct {
		name   string
		usage  *messages.Usage
		custom map[string]any
		want   map[string]any
	}{
		{"usage", full, map[string]any{"score": 3.0}, map[string]any{"score": 3.0, "ingo_usage": map[string]any{
			"wall_time": 1.3, "cpu_time": 1.02, "memory_peak": 53.0,
			"students": map[string]any{"containers": int64(2), "cpu_time": 1.19, "memory_peak": 68.2}}}},
		{"a figure unknown", &messages.Usage{CPUTime: 0.5}, nil, map[string]any{"ingo_usage": map[string]any{"cpu_time": 0.5}}},
		{"the grader's key wins", full, map[string]any{"ingo_usage": "mine"}, map[string]any{"ingo_usage": "mine"}},
		{"no usage", nil, nil, map[string]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := jobDone(&messages.BackendJobDone{JobID: "j", JobResult: messages.JobResult{
				Result: messages.Result{Status: messages.StatusSuccess}, Custom: tc.custom, Usage: tc.usage}}, false)
			if !reflect.DeepEqual(d.Custom, tc.want) {
				t.Errorf("custom = %#v, want %#v", d.Custom, tc.want)
			}
			// It goes over INGInious' wire as any custom value does.
			if _, err := msgpack.Marshal(d); err != nil {
				t.Errorf("msgpack: %v", err)
			}
		})
	}
}
