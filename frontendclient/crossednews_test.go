package frontendclient

import (
	"errors"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// TestNewsCrossingAFirstSubmission: news of a job (its start, its SSH
// session, its result) that reaches the client before the backend has
// answered the first submission of that id is of another job of the id,
// one an earlier process with our ClientID submitted: the backend answers
// a submission before anything else of it. It was taken as the answer, so
// NewJob returned that job: the HTTP API, restarted, handed a token that
// submitted another token's job id that token's result, and its kill.
func TestNewsCrossingAFirstSubmission(t *testing.T) {
	for _, c := range []struct {
		name string
		news func(id string) messages.Message
	}{
		{"started", func(id string) messages.Message {
			return &messages.BackendJobStarted{JobID: id, Agent: "a", Attempt: 1}
		}},
		{"ssh", func(id string) messages.Message {
			return &messages.BackendJobSSHDebug{JobID: id, Host: "h", Port: 22, User: "u", Password: "p"}
		}},
		{"done", func(id string) messages.Message {
			return &messages.BackendJobDone{JobID: id, JobResult: messages.NewJobResult(messages.StatusSuccess, "another's", "")}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			orphans, starts := make(chan string, 4), make(chan string, 4)
			e := newEnv(t, Options{ClientID: "api", OnResult: func(m *messages.BackendJobDone) error { orphans <- m.JobID; return nil },
				OnStarted: func(m *messages.BackendJobStarted) { starts <- m.JobID }})
			ready(t, e.c)
			e.fb.set(func(fb *fakeBackend) {
				fb.jobs["taken"] = "api" // submitted by an earlier process of "api"
				fb.beforeAnswer = func(client string, m *messages.ClientNewJob) { fb.sendLocked(client, c.news(m.JobID)) }
			})
			ctx, cancel := contextWithGuard(t)
			defer cancel()
			j, err := e.c.NewJob(ctx, jobRequest("taken"))
			var me *messages.Error
			if !errors.As(err, &me) || me.Code != messages.CodeDuplicateJob {
				t.Fatalf("NewJob of an id the backend has: job %t, err %v; want the duplicate refusal", j != nil, err)
			}
			switch c.name {
			case "done":
				select {
				case id := <-orphans:
					t.Errorf("result of %s acknowledged while a submission of its id waited for its answer", id)
				default:
				}
			case "started":
				select {
				case id := <-starts:
					t.Errorf("start of %s handed to OnStarted while a submission of its id waited for its answer", id)
				default:
				}
				// Once no submission of ours has the id, the start is the
				// earlier process's job's, for OnStarted.
				e.fb.set(func(fb *fakeBackend) { fb.sendLocked("api", c.news("taken")) })
				select {
				case id := <-starts:
					if id != "taken" {
						t.Errorf("OnStarted got %s", id)
					}
				case <-ctx.Done():
					t.Error("the start of a job of an earlier process never reached OnStarted")
				}
			}
		})
	}
}
