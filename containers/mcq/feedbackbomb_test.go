package mcq

import (
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// TestGradeBoundsTranslatedFeedback: a task's feedback, translated, stays
// within maxFeedbackBytes in all. A catalog (at most 1 MiB) may translate
// a text of one byte to 1 MiB, and its entries share bytes: a problem of
// 131,072 choices whose feedback is that text, all of them chosen (a
// message of 3 MB), joined 128 GiB in the agent's process; the problems
// of one job more. Here 16 choices, 16 MiB: refused as a crash that says
// why, before anything is joined.
func TestGradeBoundsTranslatedFeedback(t *testing.T) {
	t.Parallel()
	const n = 16
	tr := catalog{"a": strings.Repeat("x", 1<<20)}
	choices := make([]any, n)
	chosen := make([]any, n)
	for i := range n {
		choices[i] = map[string]any{"text": "", "valid": true, "feedback": "a"}
		chosen[i] = int64(i)
	}
	d := &messages.JobDescription{
		TaskProblems: map[string]any{"q": map[string]any{"type": "multiple_choice", "multiple": true, "choices": choices}},
		InputData:    map[string]any{"q": chosen},
	}
	res := Grade(d, tr)
	total := len(res.Result.Text)
	for _, p := range res.Problems {
		total += len(p.Text)
	}
	if total > maxFeedbackBytes+1024 {
		t.Errorf("%s: %d bytes of text", res.Result.Status, total)
	}
	if res.Result.Status != messages.StatusCrash || !strings.Contains(res.Result.Text, "feedback") {
		t.Errorf("%s: %.200q", res.Result.Status, res.Result.Text)
	}
	// A few choices' long feedback is graded as before.
	d.InputData["q"] = chosen[:2]
	if res := Grade(d, tr); res.Result.Status == messages.StatusCrash || len(res.Problems["q"].Text) < 2<<20 {
		t.Errorf("two choices: %s, %d bytes: %.200q", res.Result.Status, len(res.Problems["q"].Text), res.Result.Text)
	}
}
