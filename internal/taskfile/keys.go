package taskfile

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// taskKeys are the top-level keys of task.yaml that INGInious (webapp
// and agent, current and older formats) or its common plugins read.
// A key outside this list is ignored by everybody: usually a typo.
var taskKeys = []string{
	"author", "contact_url", "context", "order", "groups", "name", "accessible",
	"problems", "weight", "evaluate", "submission_limit", "stored_submissions",
	"categories", "tags", "input_random", "regenerate_input_random", "response_is_html",
	"file", "grader_test_cases", "translations",
	// the run
	"environment_type", "environment_id", "environment_parameters",
	// the older format (responseIsHTML: its migration reads it, and the
	// task editor wrote it)
	"environment", "limits", "network_grading", "run_cmd", "responseIsHTML",
}

// runKeys are the keys that decide how a job runs: misspelling one
// silently changes the run, so it is an error, not a warning.
var runKeys = []string{
	"environment_type", "environment_id", "environment_parameters",
	"environment", "limits", "network_grading", "run_cmd", "problems",
}

// envParamKeys: what INGInious' environment types read, and the
// responseIsHTML its task editor writes there (the webapp reads
// response_is_html).
var envParamKeys = []string{"limits", "network_grading", "run_cmd", "ssh_allowed", "response_is_html", "responseIsHTML"}

// limitKeys: what INGInious' agent reads, plus output, which its task
// editor wrote until 2019.
var limitKeys = []string{"time", "hard_time", "memory", "disk", "output"}

// problemKeys are the keys INGInious' problem types read.
var problemKeys = []string{
	"type", "name", "header", "language", "optional", "default", "boxes",
	"answer", "multiple", "limit", "choices", "error_message", "success_message",
	"centralize", "unshuffle", "allowed_exts", "max_size", "placeholder",
}

// ProblemTypes are INGInious' problem types: the core ones and those of
// the plugins found in public courses. `ingo task check --problem-type`
// adds others.
var ProblemTypes = []string{
	"code", "code_single_line", "file", "multiple_choice", "match",
	"code_multiple_languages", "code_file_multiple_languages",
}

// closest is the word of known nearest to word, or "" when none is near
// enough to be a plausible typo.
func closest(word string, known []string) string {
	best, bestDist := "", 0
	for _, k := range known {
		// A cut word ("stat", "desc") names the key it starts.
		if len(word) >= 3 && strings.HasPrefix(k, strings.ToLower(word)) {
			return k
		}
	}
	for _, k := range known {
		d := editDistance(strings.ToLower(word), k)
		if best == "" || d < bestDist {
			best, bestDist = k, d
		}
	}
	// A third of the word may be wrong: "enviroment_id", "limit", "tim".
	if best == "" || bestDist > max(1, len(word)/3) {
		return ""
	}
	return best
}

// didYouMean is ` (did you mean "x"?)` or "".
func didYouMean(word string, known []string) string {
	if c := closest(word, known); c != "" && c != word {
		return ` (did you mean "` + c + `"?)`
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// unknownKeys reports the keys of mapping n that are not in known. A key
// close to one of severe (a typo of a key that decides the run) is an
// error; other unknown keys are warnings.
func unknownKeys(f findings, n *yaml.Node, path string, known, severe []string) {
	for _, p := range pairs(n) {
		if slices.Contains(known, p.key) {
			continue
		}
		c := closest(p.key, known)
		switch {
		case c != "" && slices.Contains(severe, c):
			f.add(SevError, p.kn.Line, "unknown key %s (did you mean %q?): it is ignored, so %s is not set", path+p.key, c, path+c)
		case c != "":
			f.add(SevWarning, p.kn.Line, "unknown key %s (did you mean %q?)", path+p.key, c)
		default:
			f.add(SevWarning, p.kn.Line, "unknown key %s: neither INGInious nor ingo reads it", path+p.key)
		}
	}
}
