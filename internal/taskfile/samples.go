package taskfile

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ingo-grader/ingo/messages"
)

// SamplesDir is the folder of a task that holds its sample answers.
const SamplesDir = "tests"

// maxSampleFile bounds a tests/*.yaml file: it holds answers, and the
// files it names are read separately.
const maxSampleFile = 1 << 20

// Sample is one sample answer of a task, DIR/tests/NAME.yaml, with the
// outcome it must get.
type Sample struct {
	Name        string `json:"name"`
	Path        string `json:"file"`
	Description string `json:"description,omitempty"`
	// Inputs are text answers, as `-i PID=VALUE` (a YAML list, even of
	// one value: one -i PID[]=VALUE per value, so that the run file gets
	// a list); a value @FILE is the text of FILE, relative to the tests
	// folder, and @@ starts a literal @.
	Inputs []Answer `json:"inputs,omitempty"`
	// Files are file answers, as `-f PID=FILE` (relative to the tests
	// folder).
	Files  []Answer    `json:"files,omitempty"`
	Expect Expectation `json:"expect"`
}

// Answer is one problem's answer in a sample, and where it was written.
type Answer struct {
	Problem string   `json:"problem"`
	Values  []string `json:"values"`
	// List says the answer was written as a list: it stays one with a
	// single value, as the webapp sends a multiple choice.
	List bool `json:"list,omitempty"`
	Line int  `json:"-"`
}

// ReadSamples reads every DIR/tests/*.yaml (and *.yml), in name order.
// A file that cannot be read, or is not well formed, is in errs with its
// line, and not in samples; no tests folder is no samples and no errors.
func ReadSamples(dir string) (samples []Sample, errs []Finding) {
	all, wellFormed, errs := readSamples(dir)
	for i, s := range all {
		if wellFormed[i] {
			samples = append(samples, s)
		}
	}
	return samples, errs
}

// readSamples reads every sample file, the ones with errors too (with
// what could be read of them), and says which are well formed.
func readSamples(dir string) (all []Sample, wellFormed []bool, errs []Finding) {
	files, err := filepath.Glob(filepath.Join(dir, SamplesDir, "*.y*ml"))
	if err != nil {
		return nil, nil, []Finding{{Severity: SevError, File: filepath.Join(dir, SamplesDir), Message: err.Error()}}
	}
	slices.Sort(files)
	for _, path := range files {
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			continue
		}
		s, fs := ReadSample(path)
		errs = append(errs, fs...)
		all = append(all, s)
		wellFormed = append(wellFormed, !HasErrors(fs))
	}
	return all, wellFormed, errs
}

// ReadSample reads one sample file and reports everything wrong with it.
func ReadSample(path string) (Sample, []Finding) {
	var list []Finding
	f := findings{file: path, list: &list}
	s := Sample{Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), Path: path}
	data, err := readBounded(path, maxSampleFile)
	if err != nil {
		f.add(SevError, 0, "%v", err)
		return s, list
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		f.yamlError(err)
		return s, list
	}
	root := deref(&doc)
	if !isMap(root) {
		f.add(SevError, line(root), "a sample is a mapping: inputs, files, expect (see docs/task-authors.md)")
		return s, list
	}
	duplicates(f, root, "")
	for _, p := range pairs(root) {
		switch p.key {
		case "description":
			s.Description = scalarText(f, p.v, "description")
		case "inputs":
			s.Inputs = readAnswers(f, p, true)
		case "files":
			s.Files = readAnswers(f, p, false)
		case "expect":
			s.Expect = readExpect(f, p.v)
		default:
			f.add(SevError, p.kn.Line, "unknown key %s%s: a sample has description, inputs, files and expect",
				p.key, didYouMean(p.key, []string{"description", "inputs", "files", "expect"}))
		}
	}
	if get(root, "expect") == nil {
		f.add(SevError, 0, "no expect: say at least the status the answer must get (expect: {status: success})")
	}
	return s, list
}

// readAnswers reads inputs (a value or a list of values per problem) or
// files (one path per problem).
func readAnswers(f findings, p pair, lists bool) []Answer {
	if !isMap(p.v) {
		f.add(SevError, line(p.v), "%s must be a mapping of problem ids to answers", p.key)
		return nil
	}
	var out []Answer
	for _, a := range pairs(p.v) {
		ans := Answer{Problem: a.key, Line: a.kn.Line}
		v := deref(a.v)
		switch {
		case v != nil && v.Kind == yaml.ScalarNode && !isNull(v):
			ans.Values = []string{v.Value}
		case lists && v != nil && v.Kind == yaml.SequenceNode:
			ans.List = true
			for _, c := range v.Content {
				if c = deref(c); c.Kind != yaml.ScalarNode {
					f.add(SevError, c.Line, "inputs.%s: each value must be a text", a.key)
					continue
				}
				ans.Values = append(ans.Values, c.Value)
			}
		case lists:
			f.add(SevError, a.kn.Line, "inputs.%s must be a text, @FILE, or a list of texts (several choices)", a.key)
			continue
		default:
			f.add(SevError, a.kn.Line, "files.%s must be the path of a file, relative to the tests folder", a.key)
			continue
		}
		if lists && ans.Problem == RandomKey && !allNumbers(ans.Values) {
			// `ingo submit` refuses it: the webapp's @random is numbers.
			f.add(SevError, a.kn.Line, "inputs.@random must be a number or a list of numbers, as INGInious gives them")
			continue
		}
		out = append(out, ans)
	}
	return out
}

// RandomKey is the input INGInious' webapp fills with the student's
// random numbers (task.yaml's input_random of them, each in [0, 1)).
const RandomKey = "@random"

// RandomNumber reads one of @random's values: the webapp's random inputs
// are finite floats, and run files compute with them.
func RandomNumber(v string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// allNumbers says whether every value reads as one of @random's.
func allNumbers(values []string) bool {
	for _, v := range values {
		if _, ok := RandomNumber(v); !ok {
			return false
		}
	}
	return true
}

var statuses = []string{"success", "failed", "timeout", "overflow", "crash", "killed", "error"}

// readExpect reads expect: status, grade, feedback, not_feedback,
// problems.
func readExpect(f findings, n *yaml.Node) Expectation {
	var e Expectation
	if !isMap(n) {
		f.add(SevError, line(n), "expect must be a mapping: status, grade, feedback, not_feedback, problems")
		return e
	}
	for _, p := range pairs(n) {
		switch p.key {
		case "status":
			e.Status = readStatus(f, p.v)
		case "grade":
			if v := deref(p.v); v.Kind != yaml.ScalarNode {
				f.add(SevError, v.Line, "expect.grade must be a number or a text like \">= 50\"")
			} else if g, err := ParseGrade(v.Value); err != nil {
				f.add(SevError, v.Line, "expect.%v", err)
			} else {
				e.Grade = &g
			}
		case "feedback":
			e.Feedback = readPatterns(f, "expect.feedback", p.v)
		case "not_feedback":
			e.NotFeedback = readPatterns(f, "expect.not_feedback", p.v)
		case "problems":
			e.Problems = readProblemExpects(f, p.v)
		default:
			f.add(SevError, p.kn.Line, "unknown key expect.%s%s", p.key,
				didYouMean(p.key, []string{"status", "grade", "feedback", "not_feedback", "problems"}))
		}
	}
	return e
}

func readProblemExpects(f findings, n *yaml.Node) map[string]ProblemExpectation {
	if !isMap(n) {
		f.add(SevError, line(n), "expect.problems must be a mapping of problem ids to {status, feedback, not_feedback}")
		return nil
	}
	out := map[string]ProblemExpectation{}
	for _, p := range pairs(n) {
		pe := ProblemExpectation{line: p.kn.Line}
		if !isMap(p.v) {
			f.add(SevError, line(p.v), "expect.problems.%s must be a mapping: status, feedback, not_feedback", p.key)
			continue
		}
		path := "expect.problems." + p.key + "."
		for _, q := range pairs(p.v) {
			switch q.key {
			case "status":
				pe.Status = readStatus(f, q.v)
			case "feedback":
				pe.Feedback = readPatterns(f, path+"feedback", q.v)
			case "not_feedback":
				pe.NotFeedback = readPatterns(f, path+"not_feedback", q.v)
			default:
				f.add(SevError, q.kn.Line, "unknown key %s%s%s", path, q.key,
					didYouMean(q.key, []string{"status", "feedback", "not_feedback"}))
			}
		}
		out[p.key] = pe
	}
	return out
}

func readStatus(f findings, n *yaml.Node) messages.Status {
	v := deref(n)
	if v == nil {
		v = &yaml.Node{}
	}
	if v.Kind != yaml.ScalarNode || !slices.Contains(statuses, v.Value) {
		f.add(SevError, line(n), "status %q is not one of %s%s", v.Value, strings.Join(statuses, ", "), didYouMean(v.Value, statuses))
		return ""
	}
	return messages.Status(v.Value)
}

// readPatterns reads one regular expression or a list of them.
func readPatterns(f findings, key string, n *yaml.Node) []Pattern {
	v := deref(n)
	var items []*yaml.Node
	switch {
	case v != nil && v.Kind == yaml.ScalarNode && !isNull(v):
		items = []*yaml.Node{v}
	case v != nil && v.Kind == yaml.SequenceNode:
		items = v.Content
	default:
		f.add(SevError, line(n), "%s must be a regular expression or a list of them", key)
		return nil
	}
	var out []Pattern
	for _, it := range items {
		it = deref(it)
		if it.Kind != yaml.ScalarNode {
			f.add(SevError, it.Line, "%s: each pattern must be a text", key)
			continue
		}
		p, err := compilePattern(it.Value)
		if err != nil {
			f.add(SevError, it.Line, "%s: %v", key, err)
			continue
		}
		out = append(out, p)
	}
	return out
}

// readBounded reads a file no larger than limit.
func readBounded(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes is more than a sample file may have (%d)", path, st.Size(), limit)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read sample: %w", err)
	}
	return data, nil
}
