package mcq

import (
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// TestGradeManyChoicesIsLinear: a multiple-answer problem of n choices
// answered with all n of them is graded in time linear in n. Each choice
// of the answer was looked up by a scan of the choices, n²/2 steps: with
// the 131,072 choices a message may carry (1 MB), seconds of the agent's
// CPU per quiz that no kill stops, 64 quizzes at once per agent.
func TestGradeManyChoicesIsLinear(t *testing.T) {
	t.Parallel()
	const n = 1 << 16
	choices := make([]any, n)
	chosen := make([]any, n)
	for i := range n {
		choices[i] = map[string]any{"text": "", "valid": true}
		chosen[i] = int64(n - 1 - i)
	}
	d := &messages.JobDescription{
		TaskProblems: map[string]any{"q": map[string]any{"type": "multiple_choice", "multiple": true, "choices": choices}},
		InputData:    map[string]any{"q": chosen},
	}
	begin := time.Now()
	res := Grade(d, nil)
	took := time.Since(begin)
	t.Logf("%d choices: %v", n, took)
	if res.Result.Status != messages.StatusSuccess {
		t.Fatalf("%s: %s", res.Result.Status, res.Result.Text)
	}
	// Linear: tens of ms, a few hundred under -race beside the other
	// tests; n²/2 = 2e9 steps took 2 s without -race, many more with
	// it (as CI runs it). The bound is far from both, so that a loaded
	// machine cannot fail a linear grader.
	if took > 5*time.Second {
		t.Errorf("grading %d choices took %v", n, took)
	}
}
