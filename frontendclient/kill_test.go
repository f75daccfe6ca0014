package frontendclient

import (
	"errors"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

func TestKillJob(t *testing.T) {
	tests := []struct {
		name    string
		job     func(t *testing.T, e *env) string // the id to kill
		refusal messages.ErrorCode                // "" when the kill is taken
	}{
		{
			name:    "unknown job",
			job:     func(*testing.T, *env) string { return "nobody-knows" },
			refusal: messages.CodeUnknownJob,
		},
		{
			name: "finished job",
			job: func(t *testing.T, e *env) string {
				j := submit(t, e.c, jobRequest(""))
				e.fb.finish(j.ID(), messages.StatusSuccess)
				wait(t, j)
				return j.ID()
			},
			refusal: messages.CodeUnknownJob,
		},
		{
			name: "our running job",
			job:  func(t *testing.T, e *env) string { return submit(t, e.c, jobRequest("")).ID() },
		},
		{
			name: "another client's job",
			job: func(t *testing.T, e *env) string {
				e.fb.set(func(fb *fakeBackend) { fb.jobs["theirs"] = "other-client" })
				return "theirs"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			ready(t, e.c)
			id := tt.job(t, e)
			ctx, cancel := contextWithGuard(t)
			defer cancel()
			err := e.c.KillJob(ctx, id)
			expect(t, e.fb, func(_ string, m *messages.ClientKillJob) bool { return m.JobID == id })
			if tt.refusal == "" {
				if err != nil {
					t.Fatalf("KillJob = %v, want nil", err)
				}
				return
			}
			var me *messages.Error
			if !errors.As(err, &me) || me.Code != tt.refusal || me.JobID != id {
				t.Fatalf("KillJob = %v, want a %s refusal", err, tt.refusal)
			}
		})
	}
}

// The killed result of our own job comes as its one result.
func TestKillOwnJobResult(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	j := submit(t, e.c, jobRequest(""))
	ctx, cancel := contextWithGuard(t)
	defer cancel()
	if err := e.c.KillJob(ctx, j.ID()); err != nil {
		t.Fatal(err)
	}
	e.fb.finish(j.ID(), messages.StatusKilled)
	if res := wait(t, j); res.Result.Status != messages.StatusKilled {
		t.Errorf("status %q, want killed", res.Result.Status)
	}
}

func TestKillJobInvalidID(t *testing.T) {
	e := newEnv(t, Options{})
	if err := e.c.KillJob(t.Context(), "a.b"); !errors.Is(err, ErrInvalid) {
		t.Errorf("KillJob = %v, want ErrInvalid", err)
	}
}
