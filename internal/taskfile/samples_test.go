package taskfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

// TestReadSample_Refused: each malformed sample file gets an error that
// says what is wrong, at its line.
func TestReadSample_Refused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml string
		line       int
		want       string
	}{
		{"not YAML", "expect: {status: success\n", 1, "not valid YAML"},
		{"a list", "- inputs\n", 1, "a sample is a mapping"},
		{"no expect", "inputs: {q: x}\n", 0, "no expect: say at least the status"},
		{"unknown key", "input: {q: x}\nexpect: {status: success}\n", 1, `unknown key input (did you mean "inputs"?)`},
		{"inputs a list", "inputs: [a]\nexpect: {status: success}\n", 1, "inputs must be a mapping of problem ids"},
		{"an input a mapping", "inputs:\n  q: {a: 1}\nexpect: {status: success}\n", 2, "inputs.q must be a text, @FILE, or a list"},
		{"@random a text", "inputs:\n  '@random': [0.5, x]\nexpect: {status: success}\n", 2, "inputs.@random must be a number or a list of numbers"},
		{"a file a list", "files:\n  q: [a, b]\nexpect: {status: success}\n", 2, "files.q must be the path of a file"},
		{"bad status", "expect:\n  status: sucess\n", 2, `status "sucess" is not one of success, failed, timeout, overflow, crash, killed, error (did you mean "success"?)`},
		{"bad grade", "expect:\n  grade: lots\n", 2, `expect.grade "lots": "lots" is not a number`},
		{"empty range", "expect:\n  grade: 80..50\n", 2, "the range is empty"},
		{"grade a list", "expect:\n  grade: [1]\n", 2, "expect.grade must be a number"},
		{"bad pattern", "expect:\n  feedback: ['ok', 'a(']\n", 2, "expect.feedback: pattern: error parsing regexp"},
		{"pattern a mapping", "expect:\n  not_feedback: {a: b}\n", 2, "expect.not_feedback must be a regular expression or a list"},
		{"expect a text", "expect: success\n", 1, "expect must be a mapping"},
		{"problem expect a text", "expect:\n  problems:\n    q: success\n", 3, "expect.problems.q must be a mapping"},
		{"unknown expect key", "expect:\n  grades: 5\n", 2, `unknown key expect.grades (did you mean "grade"?)`},
		{"duplicate key", "expect: {status: success}\nexpect: {status: failed}\n", 2, "key expect given twice (first at line 1)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "s.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, fs := ReadSample(path)
			for _, f := range fs {
				if f.Severity == SevError && f.Line == tc.line && strings.Contains(f.Message, tc.want) {
					return
				}
			}
			t.Errorf("no error at line %d with %q; got %v", tc.line, tc.want, fs)
		})
	}
}

// TestReadSample_Args: a well-formed sample becomes the -i and -f
// arguments of `ingo submit`, paths relative to the tests folder.
func TestReadSample_Args(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := filepath.Join(dir, SamplesDir)
	writeFiles(t, dir, map[string]string{
		"tests/full.yaml": `description: every form
inputs:
    name: Ada
    count: 3
    choice: [0, 2]
    single: ['1']
    '@random': [0.37]
    code: '@answers/sq.py'
    lit: '@@home'
files:
    upload: answers/sq.py
expect:
    status: failed
    grade: '50..80'
    feedback: ['a', 'b']
    not_feedback: Traceback
    problems:
        code: {status: failed, feedback: 'too slow'}
`,
		"tests/answers/sq.py": "def sq(n): return n*n\n",
		"tests/notes.txt":     "not a sample",
	})
	samples, errs := ReadSamples(dir)
	if len(errs) != 0 || len(samples) != 1 {
		t.Fatalf("samples %v, errors %v", samples, errs)
	}
	s := samples[0]
	inputs, files := s.Args()
	// A YAML list stays a list, even of one value.
	wantIn := []string{"name=Ada", "count=3", "choice[]=0", "choice[]=2", "single[]=1", "@random[]=0.37", "code=@" + filepath.Join(tests, "answers", "sq.py"), "lit=@@home"}
	wantF := []string{"upload=" + filepath.Join(tests, "answers", "sq.py")}
	if !reflect.DeepEqual(inputs, wantIn) || !reflect.DeepEqual(files, wantF) {
		t.Errorf("Args = %q, %q\nwant %q, %q", inputs, files, wantIn, wantF)
	}
	if s.Name != "full" || s.Description != "every form" || s.Expect.String() != "failed 50..80 +3 pattern(s) +1 problem(s)" {
		t.Errorf("sample %q %q, expectation %q", s.Name, s.Description, s.Expect)
	}
	if fs := CheckSample(s, map[string]bool{"name": true, "count": true, "choice": true, "single": true, "code": true, "lit": true, "upload": true}); len(fs) != 0 {
		t.Errorf("CheckSample: %v", fs)
	}
	// --json prints an expectation; it reads back the same.
	data, err := json.Marshal(s.Expect)
	var back Expectation
	if err != nil || json.Unmarshal(data, &back) != nil || back.String() != s.Expect.String() || back.Grade.String() != "50..80" {
		t.Errorf("JSON round trip: %s, %v -> %v", data, err, back)
	}
	if fs := CheckSample(s, nil); len(fs) != 0 {
		t.Errorf("CheckSample without problems to check against: %v", fs)
	}
}

func TestParseGrade(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expr    string
		in, out []float64
	}{
		{"100", []float64{100, 100.0000001}, []float64{99.99, 0}},
		{"== 87.5", []float64{87.5}, []float64{87.4}},
		{">= 50", []float64{50, 100}, []float64{49.9}},
		{"> 0", []float64{0.01}, []float64{0}},
		{"<= 20", []float64{20, -1}, []float64{20.5}},
		{"< 100", []float64{99.9}, []float64{100}},
		{"50..80", []float64{50, 65, 80}, []float64{49, 81}},
	}
	for _, tc := range cases {
		g, err := ParseGrade(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		for _, v := range tc.in {
			if !g.Contains(v) {
				t.Errorf("%q does not contain %g", tc.expr, v)
			}
		}
		for _, v := range tc.out {
			if g.Contains(v) {
				t.Errorf("%q contains %g", tc.expr, v)
			}
		}
	}
	for _, bad := range []string{"", "high", ">=", "1..", "NaN", "9..1"} {
		if _, err := ParseGrade(bad); err == nil {
			t.Errorf("ParseGrade(%q): no error", bad)
		}
	}
}

// TestMismatches: the matcher says every difference, in order.
func TestMismatches(t *testing.T) {
	t.Parallel()
	grade := func(s string) *GradeRange { g, _ := ParseGrade(s); return &g }
	pats := func(res ...string) []Pattern {
		var out []Pattern
		for _, r := range res {
			p, err := compilePattern(r)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
		return out
	}
	res := &messages.JobResult{
		Result: messages.Result{Status: messages.StatusFailed, Text: "Test 2 failed:\nTraceback (most recent call last)"},
		Grade:  50,
		Problems: map[string]messages.Result{
			"q1": {Status: messages.StatusSuccess, Text: "ok"},
			"q2": {Status: messages.StatusFailed, Text: "too slow"},
		},
	}
	cases := []struct {
		name string
		e    Expectation
		want []string
	}{
		{"nothing expected", Expectation{}, nil},
		{"all as expected", Expectation{Status: "failed", Grade: grade(">= 50"), Feedback: pats(`(?s)Test 2.*Traceback`), NotFeedback: pats("Test 1"),
			Problems: map[string]ProblemExpectation{"q2": {Status: "failed", Feedback: pats("slow")}}}, nil},
		{"status", Expectation{Status: "success"}, []string{"status failed, want success"}},
		{"grade", Expectation{Grade: grade("100")}, []string{"grade 50, want 100"}},
		{"must match", Expectation{Feedback: pats("^Well done")}, []string{`feedback does not match /^Well done/: "Test 2 failed: Traceback (most recent call last)"`}},
		{"must not match", Expectation{NotFeedback: pats("Traceback")}, []string{`feedback matches /Traceback/ (it must not): "Traceback"`}},
		{"problems", Expectation{Problems: map[string]ProblemExpectation{
			"q1": {Status: "failed", NotFeedback: pats("ok")},
			"q3": {Status: "success"},
		}}, []string{"problem q1: status success, want failed", `problem q1 feedback matches /ok/ (it must not): "ok"`, "problem q3: no result for it"}},
		{"every mismatch, in order", Expectation{Status: "success", Grade: grade("> 90"), Feedback: pats("Bravo")},
			[]string{"status failed, want success", "grade 50, want > 90", `feedback does not match /Bravo/: "Test 2 failed: Traceback (most recent call last)"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.e.Mismatches(res); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Mismatches =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
