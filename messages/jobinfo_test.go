package messages

import "testing"

// A job's task in queue snapshots is never its environment: an HTTP job
// without a course or task id once showed as "docker/default".
func TestJobInfo(t *testing.T) {
	for _, tc := range []struct{ course, task, want string }{
		{"LINFO1252", "malloc", "LINFO1252/malloc"},
		{"", "hello", "hello"},
		{"", "", ""},
		{"algo", "", "algo/"},
	} {
		d := JobDescription{CourseID: tc.course, TaskID: tc.task, EnvironmentType: "docker", Environment: "default"}
		if got := d.Info(); got != tc.want {
			t.Errorf("course %q, task %q: info %q, want %q", tc.course, tc.task, got, tc.want)
		}
	}
}
