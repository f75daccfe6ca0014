package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// TestJobViewUsage: a job's result in GET /api/v1/jobs/{id} carries what
// the job used as the agent measured it (null when unknown), in the shape
// openapi.json documents.
func TestJobViewUsage(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	st := newStore(1 << 20)
	now := time.Now()
	for _, tc := range []struct {
		id    string
		usage *messages.Usage
		want  string
	}{
		{"known", &messages.Usage{WallTime: 1.3, CPUTime: 1.02, MemoryPeak: 53,
			Students: &messages.StudentUsage{Containers: 2, WallTime: 7.41, CPUTime: 1.194, MemoryPeak: 68.23}},
			`"usage":{"wall_time":1.3,"cpu_time":1.02,"memory_peak":53,"students":{"containers":2,"wall_time":7.41,"cpu_time":1.194,"memory_peak":68.23}}`},
		{"partly", &messages.Usage{CPUTime: 0.5}, `"usage":{"cpu_time":0.5}`},
		{"unknown", nil, `"usage":null`},
	} {
		t.Run(tc.id, func(t *testing.T) {
			st.add(tc.id, "", "", now)
			st.done(&messages.BackendJobDone{JobID: tc.id, JobResult: messages.JobResult{
				Result: messages.Result{Status: messages.StatusTimeout}, Usage: tc.usage}}, now)
			v, _, ok := st.view(tc.id)
			if !ok {
				t.Fatal("job not found")
			}
			if !strings.Contains(string(v.Result), tc.want) {
				t.Errorf("result %s lacks %s", v.Result, tc.want)
			}
			body, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var job any
			if err := json.Unmarshal(body, &job); err != nil {
				t.Fatal(err)
			}
			if err := doc.validate(doc.component("Job"), job, "$"); err != nil {
				t.Errorf("the job view does not match openapi.json: %v\n%s", err, body)
			}
		})
	}
	// The schema is strict: a figure it does not know fails.
	var bad any
	_ = json.Unmarshal([]byte(`{"job_id":"j","status":"success","text":"","grade":1,"problems":{},"tests":{},"custom":{},"state":"","archive":null,"stdout":"","stderr":"","usage":{"cpu_seconds":1}}`), &bad)
	if doc.validate(doc.component("Result"), bad, "$") == nil {
		t.Error("the validator accepts an unknown usage figure")
	}
}
