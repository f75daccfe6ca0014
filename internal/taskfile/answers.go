package taskfile

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ingo-grader/ingo/containers/mcq"
)

// UnknownAnswers describes each answer (by problem id, as in a job's
// inputs) that none of the task's problems takes: a typo in `-i PID=...`
// is otherwise graded as if the student left the problem empty. Keys
// starting with @ are INGInious' own (@username, @lang...), and a code
// problem's boxes are answered as PROBLEM/BOX. A task without problems is
// not checked (ingo runs such tasks with whatever inputs they get).
func UnknownAnswers(problems map[string]any, ids []string) []string {
	if len(problems) == 0 {
		return nil
	}
	known := slices.Sorted(maps.Keys(problems))
	var out []string
	for _, id := range slices.Sorted(slices.Values(ids)) {
		if !answersNoProblem(problems, id) {
			continue
		}
		out = append(out, fmt.Sprintf("problem %q is not one of the task's%s (it has %s)",
			id, didYouMean(id, known), strings.Join(known, ", ")))
	}
	return out
}

// Unanswered lists the task's problems (sorted) that none of the answer
// keys ids answers: INGInious' webapp refuses a submission until every
// problem has an answer, so a run file may read each one unchecked
// (get_input of a missing key ends it with a KeyError) where a test
// submission left one out.
func Unanswered(problems map[string]any, ids []string) []string {
	answered := map[string]bool{}
	for _, id := range ids {
		base, _, _ := strings.Cut(id, "/")
		answered[base] = true
	}
	var out []string
	for _, pid := range slices.Sorted(maps.Keys(problems)) {
		if !answered[pid] {
			out = append(out, pid)
		}
	}
	return out
}

// answersNoProblem says whether the answer key pid names none of
// problems: keys starting with @ are INGInious' own, and a code problem's
// boxes are answered as PROBLEM/BOX.
func answersNoProblem[V any](problems map[string]V, pid string) bool {
	if strings.HasPrefix(pid, "@") {
		return false
	}
	base, _, _ := strings.Cut(pid, "/")
	_, ok := problems[base]
	return !ok
}

// TakesList says whether the task's problem pid takes a list of values:
// INGInious' webapp sends a multiple_choice problem with multiple set
// (input_type list) as a list even when one choice is ticked, and the MCQ
// grader refuses a bare text for it. Other problems take a text or a file.
func TakesList(problems map[string]any, pid string) bool {
	p, ok := problems[pid].(map[string]any)
	return ok && p["type"] == "multiple_choice" && mcq.Truthy(p["multiple"])
}
