package messages_test

import (
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// JobIDOf names the job of a submission Decode refuses (task_problems
// with an int key, as a task.yaml's "exclude: {2: [...]}" read by YAML),
// and nothing for what is not one of our submissions.
func TestJobIDOf(t *testing.T) {
	const id = "0b7e8cb1-7b0b-4c43-9cf4-44d1e2d5d0a1"
	bad := &messages.ClientNewJob{JobDescription: messages.JobDescription{JobID: id, CourseID: "c", TaskID: "t",
		TaskProblems: map[string]any{"p": map[any]any{2: []any{"dns.id"}}}}}
	data, err := messages.Encode(bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := messages.Decode(data); err == nil {
		t.Fatal("Decode took a map with an int key")
	}
	if got := messages.JobIDOf(data); got != id {
		t.Errorf("JobIDOf = %q, want %q", got, id)
	}
	noID, _ := messages.Encode(&messages.ClientNewJob{JobDescription: messages.JobDescription{JobID: "bad id!", CourseID: "c", TaskID: "t",
		TaskProblems: map[string]any{"p": map[any]any{2: 1}}}})
	// Another message naming a job is not a submission: a malformed kill
	// must not end its sender's submission of that id.
	kill, _ := messages.Encode(&messages.ClientKillJob{JobID: id})
	for _, d := range [][]byte{nil, {0xff}, []byte(`{"job_id": "x"}`), noID, kill} {
		if got := messages.JobIDOf(d); got != "" {
			t.Errorf("JobIDOf(%x) = %q, want none", d, got)
		}
	}
}
