package taskfile

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// checkSamples reads dir/tests/*.yaml and checks each against the task:
// answers and expectations name problems it has, and the files they name
// exist. It returns the samples that are well formed.
func checkSamples(dir string, problems map[string]bool, list *[]Finding) []Sample {
	all, wellFormed, errs := readSamples(dir)
	*list = append(*list, errs...)
	var samples []Sample
	for i, s := range all {
		// A sample with a mistake in expect is checked all the same: its
		// answers' mistakes are reported now, not after the first is fixed.
		*list = append(*list, CheckSample(s, problems)...)
		if wellFormed[i] {
			samples = append(samples, s)
		}
	}
	return samples
}

// CheckSample checks a well-formed sample against the task's problems
// (nil: not checked) and the files it names.
func CheckSample(s Sample, problems map[string]bool) []Finding {
	var list []Finding
	f := findings{file: s.Path, list: &list}
	known := slices.Sorted(maps.Keys(problems))
	unknown := func(pid string) bool {
		return problems != nil && answersNoProblem(problems, pid) // nil: nothing to check against
	}
	for _, a := range slices.Concat(s.Inputs, s.Files) {
		if unknown(a.Problem) {
			f.add(SevError, a.Line, "answers problem %q, which the task does not have%s (it has %s)",
				a.Problem, didYouMean(a.Problem, known), strings.Join(known, ", "))
		}
	}
	for _, a := range s.Inputs {
		for _, v := range a.Values {
			if path, ok := s.inputFile(v); ok {
				if _, err := os.Stat(path); err != nil {
					f.add(SevError, a.Line, "inputs.%s: @%s: %v", a.Problem, strings.TrimPrefix(v, "@"), err)
				}
			}
		}
	}
	for _, a := range s.Files {
		if _, err := os.Stat(s.resolve(a.Values[0])); err != nil {
			f.add(SevError, a.Line, "files.%s: %v", a.Problem, err)
		}
	}
	for pid, pe := range s.Expect.Problems {
		if unknown(pid) {
			f.add(SevError, pe.line, "expect.problems.%s: the task has no such problem%s", pid, didYouMean(pid, known))
		}
	}
	return list
}

// Args are the sample's answers as `ingo submit` takes them: -i PID=VALUE
// values (-i PID[]=VALUE for a list, which stays one with a single value)
// and -f PID=FILE files, paths made relative to the tests folder.
func (s Sample) Args() (inputs, files []string) {
	for _, a := range s.Inputs {
		key := a.Problem
		if a.List {
			key += "[]"
		}
		for _, v := range a.Values {
			if path, ok := s.inputFile(v); ok {
				v = "@" + path
			}
			inputs = append(inputs, key+"="+v)
		}
	}
	for _, a := range s.Files {
		files = append(files, a.Problem+"="+s.resolve(a.Values[0]))
	}
	return inputs, files
}

// inputFile is the file an input value @FILE names, resolved; @@ starts
// a literal @.
func (s Sample) inputFile(v string) (string, bool) {
	rest, ok := strings.CutPrefix(v, "@")
	if !ok || rest == "" || strings.HasPrefix(rest, "@") {
		return "", false
	}
	return s.resolve(rest), true
}

// resolve makes a path of a sample file relative to its folder.
func (s Sample) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(s.Path), p)
}
