package mcq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/noop"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

type bundleBytes []byte

func (b bundleBytes) Digest() string               { return "sha256:test" }
func (b bundleBytes) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }

// TestWrap: the wrapped runtime offers mcq/mcq besides its own, grades
// mcq jobs with the catalog of their bundle, and passes the others on.
func TestWrap(t *testing.T) {
	t.Parallel()
	inner, err := noop.New("docker/default")
	if err != nil {
		t.Fatal(err)
	}
	rt := Wrap(inner)
	envs, err := rt.Environments(t.Context())
	if err != nil || !envs["mcq"]["mcq"].Advertised || len(envs["docker"]) != 1 {
		t.Fatalf("environments %v, %v", envs, err)
	}
	if rt.Name() != "noop" {
		t.Errorf("name %q, want the inner runtime's", rt.Name())
	}

	quiz := map[string]any{"q": map[string]any{"type": "multiple_choice", "choices": []any{
		map[string]any{"text": "A", "valid": true, "feedback": "Right"}, map[string]any{"text": "B"}}}}
	task := bundleBytes(tgz(t, map[string][]byte{"$i18n/fr.mo": testutil.GettextMO(map[string]string{"Right": "Juste"})}))
	job := &containers.Job{Attempt: 1, Task: task, Desc: &messages.JobDescription{JobID: "j1",
		EnvironmentType: "mcq", Environment: "mcq", TaskProblems: quiz, InputData: map[string]any{"q": "0", "@lang": "fr"}}}
	res, err := rt.Run(t.Context(), job, nil)
	if err != nil || res.Result.Status != messages.StatusSuccess || res.Grade != 100 || res.Problems["q"].Text != "Juste" {
		t.Errorf("mcq job: %+v, %v", res, err)
	}

	job.Task = bundleBytes(tgz(t, map[string][]byte{"$i18n/fr.mo": []byte("broken")}))
	if res, err := rt.Run(t.Context(), job, nil); err != nil || res.Result.Status != messages.StatusCrash ||
		!strings.Contains(res.Result.Text, "translations") {
		t.Errorf("broken catalog: %+v, %v", res, err)
	}

	other := &containers.Job{Attempt: 1, Desc: &messages.JobDescription{JobID: "j2", EnvironmentType: "docker", Environment: "default"}}
	if res, err := rt.Run(t.Context(), other, nil); err != nil || res.Result.Text != "noop" {
		t.Errorf("docker job: %+v, %v", res, err)
	}

	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(containers.ErrKilled)
	if _, err := rt.Run(ctx, job, nil); !errors.Is(err, containers.ErrKilled) {
		t.Errorf("killed: %v", err)
	}
}

// FuzzGrade: whatever task_problems and input a web app sends, grading
// ends in a result of a known status.
func FuzzGrade(f *testing.F) {
	f.Add(`{"q":{"type":"multiple_choice","multiple":true,"limit":2,"choices":[{"text":"a","valid":true},{"text":"b"}]}}`, `{"q":["0",1,1.5,"x"]}`)
	f.Add(`{"m":{"type":"match","answer":1e300}}`, `{"m":"1e+300"}`)
	f.Add(`{"q":{"type":"multiple_choice","choices":[{"text":"a","valid":"yes","feedback":7}]}}`, `{"q":-0.5}`)
	f.Fuzz(func(t *testing.T, problems, input string) {
		var p, in map[string]any
		if json.Unmarshal([]byte(problems), &p) != nil || json.Unmarshal([]byte(input), &in) != nil {
			return
		}
		res := Grade(&messages.JobDescription{TaskProblems: p, InputData: in}, catalog{"a": "b"})
		if !res.Result.Status.Valid() || res.Grade < 0 || res.Grade > 100 {
			t.Fatalf("result %+v", res)
		}
	})
}
