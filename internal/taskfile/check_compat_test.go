package taskfile

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCheck_Compat: source lines that compiled or ran on INGInious'
// images (Rocky Linux 8: glibc 2.28, Python 3.8, PyYAML 5 at the time
// the courses were written) and break on ingo's (Debian bookworm: glibc
// 2.36, Python 3.11, PyYAML 6), each in a small folder in the style of
// the public course it was seen in (UCL-INGI's CTester, a course's
// unittest result class, a run file reading task.yaml).
func TestCheck_Compat(t *testing.T) {
	t.Parallel()
	const yml = "environment: cpp\nproblems: {q: {type: code}}\n"
	const run = "#!/bin/bash\nfeedback-result success\n"
	const pyRun = "#!/bin/python3\nimport yaml\nfrom inginious import feedback\n"
	cases := []struct {
		name  string
		files map[string]string
		want  []want
	}{
		{"CTester's alternate signal stack compiles on ingo's images", map[string]string{"task.yaml": yml, "run": run,
			"student/CTester/CTester.c": "#define _GNU_SOURCE\n#include <signal.h>\nvoid f(void) {\n    static char stack[SIGSTKSZ];\n}\n",
			"lib/stack.h":               "char alt[ MINSIGSTKSZ ];\n"}, nil},
		{"yaml.load without a Loader loads on ingo's images", map[string]string{"task.yaml": yml,
			"run":         pyRun + "with open('../task.yaml') as s:\n    problems = yaml.load(s)['problems']\n",
			"lib/conf.py": "import yaml\n\ndef conf():\n    return yaml.load(open(path(\"a\", 'b')))\n"}, nil},
		{"unittest's _count_relevant_tb_levels", map[string]string{"task.yaml": yml, "run": run,
			"lib/result.py": "import unittest\nclass R(unittest.TextTestResult):\n    def _exc_info_to_string(self, err, test):\n        n = self._count_relevant_tb_levels(tb)\n"},
			[]want{{"result.py", 4, SevWarning, "_count_relevant_tb_levels"}}},
		{"comments are not code", map[string]string{"task.yaml": yml, "run": pyRun + "# was: problems = yaml.load(s)\n",
			"lib/c.c": "// static char stack[SIGSTKSZ];\n/*\n * char alt[SIGSTKSZ];\n */\n"}, nil},
		{"a shell run file is not read as Python", map[string]string{"task.yaml": yml,
			"run": "#!/bin/bash\n# yaml.load(s) is what the old run did\nfeedback-result success\n"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTask(t, tc.files)
			r, err := Check(dir, CheckOptions{})
			if err != nil {
				t.Fatal(err)
			}
			assertFindings(t, r.Findings, tc.want)
			warnings := 0
			for _, f := range r.Findings {
				if f.Severity == SevWarning {
					warnings++
				}
			}
			if warnings != len(tc.want) {
				t.Errorf("%d warnings, want %d: %v", warnings, len(tc.want), r.Findings)
			}
		})
	}
}

// TestCheck_CompatCommon: the course's $common is read too (a run file
// there imports its modules), and one finding names each file once, at
// its first such line, however often the file repeats it.
func TestCheck_CompatCommon(t *testing.T) {
	t.Parallel()
	course := t.TempDir()
	writeFiles(t, course, map[string]string{
		"t1/task.yaml":          "environment: default\nproblems: {q: {type: code}}\n",
		"t1/run":                "#!/bin/bash\nfeedback-result success\n",
		"$common/git/result.py": "x = 1\ny = self._count_relevant_tb_levels(a)\nz = self._count_relevant_tb_levels(b)\n",
	})
	r, err := Check(filepath.Join(course, "t1"), CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertFindings(t, r.Findings, []want{{"result.py", 2, SevWarning, "removed in Python 3.11"}})
	n := 0
	for _, f := range r.Findings {
		if strings.Contains(f.Message, "_count_relevant_tb_levels") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d findings for result.py, want 1: %v", n, r.Findings)
	}
}
