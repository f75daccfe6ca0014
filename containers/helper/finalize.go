package helper

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// outcome is what the run produced besides the feedback file.
type outcome struct {
	exitCode int
	// stdout and stderr are the heads kept; *Cut tells that more was
	// printed than kept.
	stdout, stderr       string
	stdoutCut, stderrCut bool
	// failure, when set, is the helper's own verdict (no run file, a run
	// file that cannot start...): it replaces the feedback.
	failure *verdict
	archive []byte
	// archiveOver: the archive passed the output limit and was dropped.
	archiveOver bool
	// sshNote, after an SSH debug session, goes before the feedback's text.
	sshNote string
}

type verdict struct{ status, text string }

// Texts of the results the helper makes itself.
const (
	textNoFeedback = "The grader did not give any feedback."
	textNoResult   = "The grader did not give any result."
)

// buildResult turns the feedback and the outcome into result.json's
// content, applying INGInious' defaults and ingo's output limit:
//
//   - result "error" when the run file set none; a status INGInious does not
//     know becomes "crash" (as INGInious' frontend shows it);
//   - grade 100 for success, else 0, when the run file set none;
//   - stdout and stderr: at most limit bytes each (JSON-encoded);
//   - the global text and the problems' texts share one budget of limit
//     bytes, filled in that order (problems by id); a cut text ends with
//     a note saying so;
//   - the rest of the feedback (result, grade, problem ids and statuses,
//     tests, custom values, state) must fit in limit bytes, or the result
//     becomes "error" with a text saying why;
//   - the archive is kept whole or dropped.
//
// Whatever was cut is named in Truncated.
func buildResult(fb *feedback, fbErr error, o *outcome, limit int64) Result {
	res := newResult(o.exitCode)
	switch {
	case o.failure != nil:
		res.Result, res.Text = o.failure.status, o.failure.text
	case fbErr != nil:
		res.Result, res.Text = StatusError, "The grader's feedback could not be read: "+fbErr.Error()
	default:
		filled := newResult(o.exitCode)
		if err := fillFromFeedback(&filled, fb); err != nil {
			res.Result, res.Text = StatusError, "The grader's feedback is badly formatted: "+err.Error()
		} else {
			res = filled
		}
	}
	if o.sshNote != "" && o.failure == nil {
		switch res.Text {
		case "", textNoFeedback, textNoResult:
			res.Text = o.sshNote + " Nothing set any feedback during it."
		default:
			res.Text = o.sshNote + "\n\n" + res.Text
		}
	}
	L := int(limit)
	if n := structuredSize(&res); n > L {
		clear(res.Problems)
		clear(res.Tests)
		clear(res.Custom)
		res.Result, res.Grade, res.State = StatusError, 0, ""
		res.Text = fmt.Sprintf("The grader's feedback is too large: its problems, tags, custom values and state take %d bytes, over the output limit of %d bytes.", n, L)
		res.Truncated = append(res.Truncated, CutFeedback)
	}
	fitTexts(&res, L)
	var cut bool
	if res.Stdout, cut = fitOutput(o.stdout, o.stdoutCut, L, CutStdout); cut {
		res.Truncated = append(res.Truncated, CutStdout)
	}
	stderr := o.stderr
	if note := archiveLeftOutNote(limit); o.archiveOver && 2*jsonLen(note) <= L {
		// The wire result has no field for what was cut: in debug mode
		// the author at least reads why the archive is missing. First,
		// so that a cut stderr keeps it.
		stderr = note + stderr
	}
	if res.Stderr, cut = fitOutput(stderr, o.stderrCut, L, CutStderr); cut {
		res.Truncated = append(res.Truncated, CutStderr)
	}
	switch {
	case o.archiveOver:
		res.Truncated = append(res.Truncated, CutArchive)
	case o.archive != nil:
		res.Archive = base64.StdEncoding.EncodeToString(o.archive)
	}
	return res
}

// archiveLeftOutNote heads the run file's stderr when the archive was
// dropped.
func archiveLeftOutNote(limit int64) string {
	return fmt.Sprintf("[ingo: archive left out: its .tgz is over the output limit of %d bytes]\n", limit)
}

func newResult(exitCode int) Result {
	return Result{
		Problems:  map[string]ProblemResult{},
		Tests:     map[string]json.RawMessage{},
		Custom:    map[string]json.RawMessage{},
		Truncated: []string{},
		ExitCode:  exitCode,
	}
}

// fillFromFeedback applies INGInious' defaults to the run file's feedback.
func fillFromFeedback(res *Result, fb *feedback) error {
	res.Result = StatusError
	if fb.Result != nil {
		res.Result = *fb.Result
	}
	if fb.Text != nil {
		res.Text = *fb.Text
	}
	switch {
	case fb.empty():
		res.Text = textNoFeedback
	case fb.Result == nil && res.Text == "":
		res.Text = textNoResult
	}
	if !knownStatuses[res.Result] {
		res.Text = fmt.Sprintf("[ingo: the grader gave the unknown result %q, shown as crash]\n\n", res.Result) + res.Text
		res.Result = StatusCrash
	}
	switch {
	case fb.Grade != nil:
		res.Grade = *fb.Grade
	case res.Result == StatusSuccess:
		res.Grade = 100
	}
	for pid, e := range fb.Problems {
		if !problemIDPattern.MatchString(pid) {
			return fmt.Errorf("invalid problem id %q", pid)
		}
		p := ProblemResult{Text: e.Text}
		if e.HasResult {
			p.Status = e.Result
			if !knownStatuses[p.Status] {
				p.Status = StatusCrash
			}
		}
		res.Problems[pid] = p
	}
	for id, v := range fb.Tests {
		if !testIDPattern.MatchString(id) {
			return fmt.Errorf("invalid tag id %q", id)
		}
		if t := strings.TrimSpace(string(v)); strings.HasPrefix(t, "{") {
			return fmt.Errorf("tag %q has an object as value", id)
		}
		res.Tests[id] = v
	}
	for k, v := range fb.Custom {
		res.Custom[k] = v
	}
	if fb.State != nil {
		res.State = *fb.State
	}
	return nil
}

// structuredSize is the JSON size of the result without its texts and
// outputs: what the limit bounds besides them.
func structuredSize(res *Result) int {
	problems := make(map[string]ProblemResult, len(res.Problems))
	for pid, p := range res.Problems {
		problems[pid] = ProblemResult{Status: p.Status}
	}
	data, err := json.Marshal(struct {
		Result   string
		Grade    float64
		Problems map[string]ProblemResult
		Tests    map[string]json.RawMessage
		Custom   map[string]json.RawMessage
		State    string
	}{res.Result, res.Grade, problems, res.Tests, res.Custom, res.State})
	if err != nil {
		return 1<<31 - 1 // cannot happen with these types; be safe
	}
	return len(data)
}

// fitTexts cuts the global text then the problems' texts (by id) to one
// shared budget.
func fitTexts(res *Result, budget int) {
	note := cutNote("feedback", int64(budget))
	text, used, cut := fitWithNote(res.Text, budget, note)
	res.Text = text
	budget -= used
	if cut {
		res.Truncated = append(res.Truncated, CutText)
	}
	pids := make([]string, 0, len(res.Problems))
	for pid := range res.Problems {
		pids = append(pids, pid)
	}
	sort.Strings(pids)
	problemsCut := false
	for _, pid := range pids {
		p := res.Problems[pid]
		text, used, cut := fitWithNote(p.Text, budget, note)
		p.Text = text
		res.Problems[pid] = p
		budget -= used
		problemsCut = problemsCut || cut
	}
	if problemsCut {
		res.Truncated = append(res.Truncated, CutProblems)
	}
}

// fitOutput bounds stdout or stderr; rawCut says the capture already
// dropped bytes, so the note is due even if the head fits.
func fitOutput(s string, rawCut bool, limit int, what string) (string, bool) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	note := cutNote(what, int64(limit))
	if !rawCut {
		out, _, cut := fitWithNote(s, limit, note)
		return out, cut
	}
	room := limit - jsonLen(note)
	if room < 0 {
		return "", true
	}
	head, _ := cutJSON(s, room)
	return head + note, true
}
