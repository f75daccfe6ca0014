package agent

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/fake"
	"github.com/ingo-grader/ingo/internal/natsserver"
	"github.com/ingo-grader/ingo/messages"
)

// funcRuntime is the fake runtime with Run replaced, for results no
// well-behaved runtime returns.
type funcRuntime struct {
	*fake.Runtime
	run func(ctx context.Context) (messages.JobResult, error)
}

func (f funcRuntime) Run(ctx context.Context, _ *containers.Job, _ containers.Events) (messages.JobResult, error) {
	return f.run(ctx)
}

func TestAgent_Job_BadResultsReplaced(t *testing.T) {
	t.Parallel()
	success := func(edit func(*messages.JobResult)) func(context.Context) (messages.JobResult, error) {
		return func(context.Context) (messages.JobResult, error) {
			r := messages.NewJobResult(messages.StatusSuccess, "ok", "")
			edit(&r)
			return r, nil
		}
	}
	tests := []struct {
		name   string
		run    func(context.Context) (messages.JobResult, error)
		status messages.Status
		text   string
	}{
		{"over max_payload", success(func(r *messages.JobResult) { r.Stdout = strings.Repeat("x", natsserver.DefaultMaxPayload) }),
			messages.StatusError, "The feedback is too large to be sent back"},
		{"invalid UTF-8", success(func(r *messages.JobResult) { r.Result.Text = "\xff\xfe" }), messages.StatusCrash, textUnsendable},
		{"NaN in custom values", success(func(r *messages.JobResult) { r.Custom = map[string]any{"x": math.NaN()} }), messages.StatusCrash, textUnsendable},
		{"too many custom values", success(func(r *messages.JobResult) {
			r.Custom = map[string]any{"x": []any{make([]any, 100_000), make([]any, 100_000), make([]any, 100_000)}}
		}), messages.StatusError, containers.TextTooManyValues},
		{"NaN grade", success(func(r *messages.JobResult) { r.Grade = math.NaN() }), messages.StatusCrash, textBadGrade},
		{"sloppy runtime ignores the cause", func(ctx context.Context) (messages.JobResult, error) {
			<-ctx.Done()
			return messages.JobResult{}, errors.New("something broke")
		}, messages.StatusKilled, textKilled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, options{runtime: funcRuntime{fake.New(fake.Options{}), tt.run}})
			j := newJob("bad", nil)
			j.InputData["@state"] = "prev"
			e.submit(t, j)
			if tt.status == messages.StatusKilled {
				e.backend.toAgent(e.cfg.ID, &messages.BackendKillJob{JobID: "bad", Attempt: 1})
			}
			m := e.done(t, "bad")
			if m.Result.Status != tt.status || !strings.HasPrefix(m.Result.Text, tt.text) || m.State != "prev" {
				t.Errorf("got %s, want %s %q…", status(m), tt.status, tt.text)
			}
		})
	}
}
