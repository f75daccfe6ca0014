package bridge

import (
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/ingo-grader/ingo/messages"
)

// TestJobDoneProblems: on INGInious' wire a problem with a result is a
// (status, text) pair, and a problem with feedback but no result of its
// own is the bare text, as INGInious' agent passes on its feedback file's
// value; the webapp shows a bare text with the submission's result, and a
// pair whose status is "" in red.
func TestJobDoneProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		p    messages.Result
		want any // as a msgpack reader without types (Python's) sees it
	}{
		{"result and text", messages.Result{Status: messages.StatusFailed, Text: "wrong"}, []any{"failed", "wrong"}},
		{"result only", messages.Result{Status: messages.StatusSuccess}, []any{"success", ""}},
		{"text only", messages.Result{Text: "Well done"}, "Well done"},
		{"neither", messages.Result{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := jobDone(&messages.BackendJobDone{JobID: "j", JobResult: messages.JobResult{
				Result:   messages.Result{Status: messages.StatusSuccess},
				Problems: map[string]messages.Result{"q1": tc.p}}}, false)
			b, err := msgpack.Marshal(d)
			if err != nil {
				t.Fatalf("msgpack: %v", err)
			}
			var m map[string]any
			if err := msgpack.Unmarshal(b, &m); err != nil {
				t.Fatalf("msgpack: %v", err)
			}
			got := m["problems"].(map[string]any)["q1"]
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems[q1] = %#v, want %#v", got, tc.want)
			}
		})
	}
}
