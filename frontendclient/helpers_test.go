package frontendclient

import (
	"context"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

func contextWithGuard(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), guard)
}

// jobRequest is a valid job for the fake backend.
func jobRequest(id string) JobRequest {
	return JobRequest{ClientNewJob: messages.ClientNewJob{JobDescription: messages.JobDescription{
		JobID: id, CourseID: "course", TaskID: "task", EnvironmentType: "docker", Environment: "default",
		InputData: map[string]any{"q1": "print(42)"},
	}}}
}

func submit(t *testing.T, c *Client, req JobRequest) *Job {
	t.Helper()
	ctx, cancel := contextWithGuard(t)
	defer cancel()
	j, err := c.NewJob(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func wait(t *testing.T, j *Job) *messages.BackendJobDone {
	t.Helper()
	ctx, cancel := contextWithGuard(t)
	defer cancel()
	res, err := j.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// events drains a finished job's events.
func events(t *testing.T, j *Job) []Event {
	t.Helper()
	wait(t, j)
	return drain(j)
}

func kinds(evs []Event) []EventKind {
	out := make([]EventKind, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind
	}
	return out
}

// roundTrip makes sure the client has handled everything the fake backend
// sent before: the backend's messages arrive in order, and Queue returns
// only after the answer that follows them.
func roundTrip(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := contextWithGuard(t)
	defer cancel()
	if _, err := c.Queue(ctx); err != nil {
		t.Fatal(err)
	}
}
