package taskfile

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ingo-grader/ingo/messages"
)

// Expectation is the outcome a sample answer must get (tests/*.yaml's
// expect). Every part is optional: what it does not name is not checked.
type Expectation struct {
	Status messages.Status `json:"status,omitempty"`
	Grade  *GradeRange     `json:"grade,omitempty"`
	// Feedback are patterns the task's feedback text must match;
	// NotFeedback patterns it must not match.
	Feedback    []Pattern `json:"feedback,omitempty"`
	NotFeedback []Pattern `json:"not_feedback,omitempty"`
	// Problems are expectations on problems' own results.
	Problems map[string]ProblemExpectation `json:"problems,omitempty"`
}

// ProblemExpectation is what one problem's result must be.
type ProblemExpectation struct {
	Status      messages.Status `json:"status,omitempty"`
	Feedback    []Pattern       `json:"feedback,omitempty"`
	NotFeedback []Pattern       `json:"not_feedback,omitempty"`
	line        int             // in the sample file, for findings
}

// Pattern is a regular expression (Go's syntax, RE2) on a feedback text.
type Pattern struct{ re *regexp.Regexp }

// compilePattern compiles a pattern of a sample file.
func compilePattern(s string) (Pattern, error) {
	re, err := regexp.Compile(s)
	if err != nil {
		return Pattern{}, fmt.Errorf("pattern: %w", err)
	}
	return Pattern{re: re}, nil
}

func (p Pattern) String() string               { return p.re.String() }
func (p Pattern) MarshalText() ([]byte, error) { return []byte(p.re.String()), nil }

// UnmarshalText reads a pattern back from JSON (`ingo task test --json`).
func (p *Pattern) UnmarshalText(b []byte) (err error) {
	*p, err = compilePattern(string(b))
	return err
}

// GradeRange is an expected grade: exact ("100"), a bound (">= 50",
// "> 0", "<= 20", "< 100") or an inclusive range ("50..80").
type GradeRange struct {
	Min, Max         float64
	MinOpen, MaxOpen bool // strict bounds
	text             string
}

func (g GradeRange) String() string               { return g.text }
func (g GradeRange) MarshalText() ([]byte, error) { return []byte(g.text), nil }

// UnmarshalText reads a grade range back from JSON.
func (g *GradeRange) UnmarshalText(b []byte) (err error) {
	*g, err = ParseGrade(string(b))
	return err
}

// gradeEpsilon absorbs the rounding of a grade computed in floating
// point (87.49999999 for 87.5); INGInious rounds grades to 2 decimals.
const gradeEpsilon = 1e-6

// Contains says whether grade is in the range.
func (g GradeRange) Contains(grade float64) bool {
	lo := grade > g.Min-gradeEpsilon
	if g.MinOpen {
		lo = grade > g.Min+gradeEpsilon
	}
	hi := grade < g.Max+gradeEpsilon
	if g.MaxOpen {
		hi = grade < g.Max-gradeEpsilon
	}
	return lo && hi
}

// ParseGrade reads an expected grade in the forms of GradeRange.
func ParseGrade(s string) (GradeRange, error) {
	s = strings.TrimSpace(s)
	g := GradeRange{Min: math.Inf(-1), Max: math.Inf(1), text: s}
	num := func(t string) (float64, error) {
		v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("grade %q: %q is not a number; write 100, \">= 50\", \"< 20\" or \"50..80\"", s, strings.TrimSpace(t))
		}
		return v, nil
	}
	var err error
	switch {
	case strings.HasPrefix(s, ">="):
		g.Min, err = num(s[2:])
	case strings.HasPrefix(s, "<="):
		g.Max, err = num(s[2:])
	case strings.HasPrefix(s, ">"):
		g.MinOpen = true
		g.Min, err = num(s[1:])
	case strings.HasPrefix(s, "<"):
		g.MaxOpen = true
		g.Max, err = num(s[1:])
	case strings.Contains(s, ".."):
		lo, hi, _ := strings.Cut(s, "..")
		if g.Min, err = num(lo); err == nil {
			g.Max, err = num(hi)
		}
		if err == nil && g.Min > g.Max {
			err = fmt.Errorf("grade %q: the range is empty (%g > %g)", s, g.Min, g.Max)
		}
	default:
		v, e := num(strings.TrimPrefix(strings.TrimPrefix(s, "=="), "="))
		g.Min, g.Max, err = v, v, e
	}
	return g, err
}

// Mismatches compares a result with the expectation and says, in order
// (status, grade, feedback, problems by id), everything that differs;
// none means the sample passes.
func (e Expectation) Mismatches(r *messages.JobResult) []string {
	var out []string
	if e.Status != "" && r.Result.Status != e.Status {
		out = append(out, fmt.Sprintf("status %s, want %s", r.Result.Status, e.Status))
	}
	if e.Grade != nil && !e.Grade.Contains(r.Grade) {
		out = append(out, fmt.Sprintf("grade %s, want %s", FormatGrade(r.Grade), e.Grade))
	}
	out = append(out, textMismatches("feedback", r.Result.Text, e.Feedback, e.NotFeedback)...)
	for _, pid := range slices.Sorted(maps.Keys(e.Problems)) {
		pe := e.Problems[pid]
		got, ok := r.Problems[pid]
		if !ok {
			out = append(out, fmt.Sprintf("problem %s: no result for it", pid))
			continue
		}
		if pe.Status != "" && got.Status != pe.Status {
			out = append(out, fmt.Sprintf("problem %s: status %s, want %s", pid, got.Status, pe.Status))
		}
		out = append(out, textMismatches("problem "+pid+" feedback", got.Text, pe.Feedback, pe.NotFeedback)...)
	}
	return out
}

func textMismatches(what, text string, must, mustNot []Pattern) []string {
	var out []string
	for _, p := range must {
		if !p.re.MatchString(text) {
			out = append(out, fmt.Sprintf("%s does not match /%s/: %q", what, p, excerpt(text)))
		}
	}
	for _, p := range mustNot {
		if loc := p.re.FindStringIndex(text); loc != nil {
			out = append(out, fmt.Sprintf("%s matches /%s/ (it must not): %q", what, p, excerpt(text[loc[0]:loc[1]])))
		}
	}
	return out
}

// excerpt keeps a text short enough for a table cell.
func excerpt(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		return string(r[:57]) + "..."
	}
	return s
}

// FormatGrade prints a grade as INGInious shows it: 87.5, 100.
func FormatGrade(g float64) string { return strconv.FormatFloat(g, 'f', -1, 64) }

// String is the expectation in short, for a table: "success 100".
func (e Expectation) String() string {
	var parts []string
	if e.Status != "" {
		parts = append(parts, string(e.Status))
	}
	if e.Grade != nil {
		parts = append(parts, e.Grade.String())
	}
	if n := len(e.Feedback) + len(e.NotFeedback); n > 0 {
		parts = append(parts, fmt.Sprintf("+%d pattern(s)", n))
	}
	if len(e.Problems) > 0 {
		parts = append(parts, fmt.Sprintf("+%d problem(s)", len(e.Problems)))
	}
	if len(parts) == 0 {
		return "any result"
	}
	return strings.Join(parts, " ")
}
