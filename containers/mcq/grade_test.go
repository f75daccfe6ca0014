package mcq

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// inginiousCase is a line of testdata/inginious.jsonl: task_problems and
// an input, and what INGInious' MCQ agent gives for them, recorded by
// running its problem classes (inginious/common/tasks_problems.py) and the
// agent's new_job on them. A crash there is only its status: INGInious
// says "An unknown error occurred in the agent", ingo why.
type inginiousCase struct {
	Name      string         `json:"name"`
	Problems  map[string]any `json:"problems"`
	Input     map[string]any `json:"input"`
	INGInious struct {
		Status   string               `json:"status"`
		Text     string               `json:"text"`
		Grade    float64              `json:"grade"`
		Problems map[string][2]string `json:"problems"`
		State    string               `json:"state"`
	} `json:"inginious"`
}

// asOnTheWire is d as an agent decodes it: numbers of JSON become the
// integers and floats of CBOR, as they come from the web app.
func asOnTheWire(t *testing.T, d messages.JobDescription) *messages.JobDescription {
	t.Helper()
	data, err := messages.Encode(&messages.BackendNewJob{JobDescription: d, Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := messages.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return &m.(*messages.BackendNewJob).JobDescription
}

// numbers turns json.Number into int64 or float64, as msgpack has them.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

func loadINGInious(t *testing.T) []inginiousCase {
	t.Helper()
	f, err := os.Open("testdata/inginious.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []inginiousCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var c inginiousCase
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		c.Problems = numbers(c.Problems).(map[string]any)
		c.Input = numbers(c.Input).(map[string]any)
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil || len(cases) < 30 {
		t.Fatalf("%d cases: %v", len(cases), err)
	}
	return cases
}

// TestGradeAsINGInious grades every recorded case and compares it with
// INGInious' result field by field. The state is compared as JSON: its
// keys come in task.yaml's order there and sorted here.
func TestGradeAsINGInious(t *testing.T) {
	t.Parallel()
	for _, c := range loadINGInious(t) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			d := asOnTheWire(t, messages.JobDescription{JobID: "j", EnvironmentType: "mcq", Environment: "mcq",
				TaskProblems: c.Problems, InputData: c.Input})
			got := Grade(d, nil)
			want := c.INGInious
			if string(got.Result.Status) != want.Status {
				t.Fatalf("status %s (%q), INGInious %s", got.Result.Status, got.Result.Text, want.Status)
			}
			if want.Status == "crash" {
				if got.Result.Text == "" || got.Grade != 0 {
					t.Errorf("a crash of grade %v without a text: %+v", got.Grade, got)
				}
				if prev, _ := c.Input["@state"].(string); got.State != prev {
					t.Errorf("state %q, want the previous one %q", got.State, prev)
				}
				return
			}
			if got.Result.Text != want.Text || got.Grade != want.Grade {
				t.Errorf("text %q grade %v, INGInious %q %v", got.Result.Text, got.Grade, want.Text, want.Grade)
			}
			if len(got.Problems) != len(want.Problems) {
				t.Errorf("problems %v, INGInious %v", got.Problems, want.Problems)
			}
			for id, w := range want.Problems {
				if g := got.Problems[id]; string(g.Status) != w[0] || g.Text != w[1] {
					t.Errorf("problem %s: %s %q, INGInious %s %q", id, g.Status, g.Text, w[0], w[1])
				}
			}
			var gs, ws map[string]string
			if json.Unmarshal([]byte(got.State), &gs) != nil || json.Unmarshal([]byte(want.State), &ws) != nil || len(gs) != len(ws) {
				t.Errorf("state %q, INGInious %q", got.State, want.State)
			}
		})
	}
}

// TestGradeCrashSaysWhy: where INGInious says "An unknown error occurred
// in the agent", the text names the problem and what is wrong.
func TestGradeCrashSaysWhy(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"no valid choice":       "problem q does not have any valid answer",
		"bad limit":             "invalid limit in problem q",
		"unknown type":          `problem q has the type "essay", which no grader knows`,
		"out of range":          "The answer to problem q cannot be graded: the answer 7 is none of the 3 choices",
		"not a number":          `the answer "A" is not the number of a choice`,
		"missing answer":        "There is no answer to problem q",
		"multiple given a text": "the answer is a text, not a list of choices",
		"match given a list":    "the answer is a list, not a text",
		"bad id":                `problem id "q q" has other characters`,
		"code problem":          "Task wrongly configured as a MCQ",
		"no problems":           "No subproblems defined",
	}
	seen := 0
	for _, c := range loadINGInious(t) {
		w, ok := want[c.Name]
		if !ok {
			continue
		}
		seen++
		got := Grade(asOnTheWire(t, messages.JobDescription{TaskProblems: c.Problems, InputData: c.Input}), nil)
		if got.Result.Status != messages.StatusCrash || !strings.Contains(got.Result.Text, w) {
			t.Errorf("%s: %s %q, want a crash saying %q", c.Name, got.Result.Status, got.Result.Text, w)
		}
	}
	if seen != len(want) {
		t.Errorf("%d of the %d cases found in testdata", seen, len(want))
	}
}

// TestGradeTranslates: a job in French gets task.yaml's texts from the
// task's catalog and the grader's own in French; another language the
// grader has no words for gets English.
func TestGradeTranslates(t *testing.T) {
	t.Parallel()
	problems := map[string]any{
		"q": map[string]any{"type": "multiple_choice", "choices": []any{
			map[string]any{"text": "A", "valid": true},
			map[string]any{"text": "B", "feedback": "B is a classic mistake"},
		}},
		"r": map[string]any{"type": "match", "answer": "42"},
	}
	tr := catalog{"B is a classic mistake": "B est une erreur classique"}
	for _, tc := range []struct {
		lang             string
		q, r, text       string
		translatedByTask bool
	}{
		{"fr", "Mauvaise réponse\n\nB est une erreur classique", "Bonne réponse",
			"Vous avez 1 mauvaise(s) réponse(s).\n\n\nParmi celles-ci, vous avez 1 réponse(s) invalide(s) aux questions à choix multiples", true},
		{"pt", "Wrong answer\n\nB is a classic mistake", "Correct answer",
			"You have 1 wrong answer(s).\n\n\nAmong them, you have 1 invalid answers in the multiple choice questions", false},
	} {
		c := tr
		if !tc.translatedByTask {
			c = nil
		}
		got := Grade(&messages.JobDescription{TaskProblems: problems,
			InputData: map[string]any{"q": "1", "r": "42", "@lang": tc.lang}}, c)
		if got.Problems["q"].Text != tc.q || got.Problems["r"].Text != tc.r || got.Result.Text != tc.text {
			t.Errorf("%s: q %q, r %q, text %q", tc.lang, got.Problems["q"].Text, got.Problems["r"].Text, got.Result.Text)
		}
	}
	for lang, texts := range own {
		for _, key := range []string{msgWrongMultiple, msgWrong, msgRight, textWrongCount, textInvalidCount} {
			if texts[key] == "" || (strings.Contains(key, "{}") != strings.Contains(texts[key], "{}")) {
				t.Errorf("%s: %q is %q", lang, key, texts[key])
			}
		}
	}
}

// TestGradeLongAnswerLists: a list of more answers than the problem has
// choices is no answer of a form; each item would add its choice's
// feedback (100,000 of them made 390 MiB of text).
func TestGradeLongAnswerLists(t *testing.T) {
	t.Parallel()
	problems := map[string]any{"q": map[string]any{"type": "multiple_choice", "multiple": true, "choices": []any{
		map[string]any{"text": "A", "valid": true, "feedback": strings.Repeat("f", 4096)},
		map[string]any{"text": "B"},
	}}}
	answers := make([]any, 100000)
	for i := range answers {
		answers[i] = "0"
	}
	got := Grade(&messages.JobDescription{TaskProblems: problems, InputData: map[string]any{"q": answers}}, nil)
	if got.Result.Status != messages.StatusCrash || !strings.Contains(got.Result.Text, "lists 100000 choices of 2") || len(got.Result.Text) > 1024 {
		t.Errorf("%s, %d bytes: %.200q", got.Result.Status, len(got.Result.Text), got.Result.Text)
	}
}
