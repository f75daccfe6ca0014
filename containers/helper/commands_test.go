package helper

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// step is one command call: its stdin, name and arguments.
type step struct {
	stdin string
	args  []string
}

func call(stdin string, args ...string) step { return step{stdin, args} }

func TestFeedbackMsgVariants(t *testing.T) {
	tests := []struct {
		name    string
		steps   []step
		text    *string // global text, nil: never set
		problem map[string]problemEntry
		failAt  int // index of a step that must fail with exit 2; -1: none
	}{
		{name: "set then set replaces", steps: []step{
			call("", "feedback-msg", "-m", "one"), call("", "feedback-msg", "-m", "two")},
			text: ptr("two"), failAt: -1},
		{name: "append", steps: []step{
			call("", "feedback-msg", "-m", "one"), call("", "feedback-msg", "-a", "-m", " two")},
			text: ptr("one two"), failAt: -1},
		{name: "escapes", steps: []step{
			call("", "feedback-msg", "-e", "-m", `a\tb\nc\x41\101\u00e9\\`)},
			text: ptr("a\tb\ncAAé\\"), failAt: -1},
		{name: "no escapes without -e", steps: []step{
			call("", "feedback-msg", "-m", `a\nb`)},
			text: ptr(`a\nb`), failAt: -1},
		{name: "grouped -ae as in INGInious' docs", steps: []step{
			call("", "feedback-msg", "-m", "x"), call("", "feedback-msg", "-ae", "-m", `\ny`)},
			text: ptr("x\ny"), failAt: -1},
		{name: "stdin", steps: []step{
			call("from stdin\n", "feedback-msg")},
			text: ptr("from stdin\n"), failAt: -1},
		{name: "empty -m reads stdin", steps: []step{
			call("piped", "feedback-msg", "-m", "")},
			text: ptr("piped"), failAt: -1},
		{name: "stdin append with escapes", steps: []step{
			call("", "feedback-msg", "-m", "A"), call(`\tB`, "feedback-msg", "-a", "-e")},
			text: ptr("A\tB"), failAt: -1},
		{name: "attached and long forms", steps: []step{
			call("", "feedback-msg", "-mone"), call("", "feedback-msg", "--append", "--message= two"),
			call("", "feedback-msg", "--app", "--mess", " three")},
			text: ptr("one two three"), failAt: -1},
		{name: "message starting with a dash", steps: []step{
			call("", "feedback-msg", "-m", "-1 point")},
			text: ptr("-1 point"), failAt: -1},
		{name: "problem text then result keeps the text", steps: []step{
			call("", "feedback-msg", "-i", "q1", "-m", "start"),
			call("", "feedback-msg", "-a", "-i", "q1", "-m", "+more"),
			call("", "feedback-result", "failed", "-i", "q1")},
			problem: map[string]problemEntry{"q1": {Result: "failed", HasResult: true, Text: "start+more"}}, failAt: -1},
		{name: "result then problem text", steps: []step{
			call("", "feedback-result", "-i", "q.2", "success"),
			call("", "feedback-msg", "-i", "q.2", "-m", "ok")},
			problem: map[string]problemEntry{"q.2": {Result: "success", HasResult: true, Text: "ok"}}, failAt: -1},
		{name: "invalid problem id refused", steps: []step{
			call("", "feedback-msg", "-m", "kept"),
			call("", "feedback-msg", "-i", "q 1", "-m", "x")},
			text: ptr("kept"), failAt: 1},
		{name: "unknown flag refused", steps: []step{
			call("", "feedback-msg", "-z", "-m", "x")},
			failAt: 0},
		{name: "feedback -f -e -i", steps: []step{
			call("", "feedback", "-r", "failed", "-f", `bad\tone`, "-e", "-i", "q1")},
			problem: map[string]problemEntry{"q1": {Result: "failed", HasResult: true, Text: "bad\tone"}}, failAt: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newContainer(t, job(nil, 1<<20))
			for i, s := range tt.steps {
				code, _, stderr := c.command(s.stdin, s.args[0], s.args[1:]...)
				switch {
				case i == tt.failAt && code != exitUsage:
					t.Fatalf("step %d %v: exit %d, want %d", i, s.args, code, exitUsage)
				case i != tt.failAt && code != 0:
					t.Fatalf("step %d %v: exit %d: %s", i, s.args, code, stderr)
				}
			}
			f := c.feedback()
			if (f.Text == nil) != (tt.text == nil) || (f.Text != nil && *f.Text != *tt.text) {
				t.Errorf("text = %s, want %s", show(f.Text), show(tt.text))
			}
			if len(f.Problems) != len(tt.problem) {
				t.Errorf("problems = %v, want %v", f.Problems, tt.problem)
			}
			for pid, want := range tt.problem {
				if got := f.Problems[pid]; got == nil || *got != want {
					t.Errorf("problem %s = %+v, want %+v", pid, got, want)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

func show(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return "\"" + *s + "\""
}

func TestGetinput(t *testing.T) {
	c := newContainer(t, job(map[string]any{
		"code":   "line1\nline2",
		"multi":  []string{"a", "é"},
		"num":    3,
		"flag":   true,
		"obj":    map[string]any{"k": "v"},
		"up":     map[string]any{"filename": "main.c", "value": base64.StdEncoding.EncodeToString([]byte("int x;\n"))},
		"pid/b1": "box",
	}, 1<<20))
	tests := []struct {
		arg  string
		out  string
		code int
	}{
		{"code", "line1\nline2", 0},
		{"multi", `["a", "\u00e9"]`, 0},
		{"num", "3", 0},
		{"flag", "True", 0},
		{"obj", `{"k": "v"}`, 0},
		{"up", "int x;\n", 0},
		{"up:value", "int x;\n", 0},
		{"up:filename", "main.c", 0},
		{"code:filename", "line1\nline2", 0}, // a suffix means nothing for text
		{"@username", "alice", 0},
		{"pid/b1", "box", 0},
		{"missing", "", exitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			code, out, stderr := c.command("", "getinput", tt.arg)
			if code != tt.code || out != tt.out {
				t.Errorf("getinput %s = %q exit %d (%s), want %q exit %d", tt.arg, out, code, stderr, tt.out, tt.code)
			}
		})
	}
}

func TestParsetemplateCommand(t *testing.T) {
	c := newContainer(t, job(map[string]any{
		"body": "x = 1\nreturn x\n",
		"name": "f",
		"up":   map[string]any{"filename": "data.txt", "value": base64.StdEncoding.EncodeToString([]byte("l1\nl2"))},
	}, 1<<20))
	tpl := "def @@name@@():\n@    @body@@\n# file @@up:filename@@\n@# @up:value@ #@\n"
	want := "def f():\n    x = 1\n    return x\n# file data.txt\n# l1 #\n# l2 #\n"
	c.task("tpl.py", tpl, 0o644)

	if code, _, stderr := c.command("", "parsetemplate", "-o", "out/dir/student.py", "tpl.py"); code != 0 {
		t.Fatalf("parsetemplate -o: exit %d: %s", code, stderr)
	}
	if got := readTask(t, c, "out/dir/student.py"); got != want {
		t.Errorf("output =\n%s\nwant\n%s", got, want)
	}
	if got := readTask(t, c, "tpl.py"); got != tpl {
		t.Errorf("the template changed with -o")
	}
	if code, _, stderr := c.command("", "parsetemplate", "tpl.py"); code != 0 {
		t.Fatalf("parsetemplate in place: exit %d: %s", code, stderr)
	}
	if got := readTask(t, c, "tpl.py"); got != want {
		t.Errorf("in place =\n%s\nwant\n%s", got, want)
	}
	if code, _, _ := c.command("", "parsetemplate", "missing.tpl"); code != exitUsage {
		t.Errorf("missing template: exit %d, want %d", code, exitUsage)
	}
}

func readTask(t *testing.T, c *container, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.paths.Task, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestFeedbackMsgTpl(t *testing.T) {
	c := newContainer(t, job(map[string]any{"@lang": "fr"}, 1<<20))
	c.task("fb.tpl", "Hello {{ who }}!\n", 0o644)
	c.task("lang/fr/fb.tpl", "Bonjour {{ who }}{# comment #}, {{missing}}!\n", 0o644)
	c.task("bad.tpl", "{% if x %}x{% endif %}", 0o644)
	steps := []step{
		call("", "feedback-msg-tpl", "fb", "who=Alice"),
		call("", "feedback-msg-tpl", "-i", "q1", "bad"),
		call("", "feedback-msg-tpl", "-a", "-i", "q1", "nope"),
	}
	for _, s := range steps {
		if code, _, stderr := c.command(s.stdin, s.args[0], s.args[1:]...); code != 0 {
			t.Fatalf("%v: exit %d: %s", s.args, code, stderr)
		}
	}
	f := c.feedback()
	if f.Text == nil || *f.Text != "Bonjour Alice, !" {
		t.Errorf("text = %s", show(f.Text))
	}
	q1 := f.Problems["q1"].Text
	if !strings.Contains(q1, "not supported") || !strings.Contains(q1, "Unable to find template named nope") {
		t.Errorf("q1 text = %q: want both error blocks", q1)
	}
}

func TestTagsAndCustom(t *testing.T) {
	c := newContainer(t, job(nil, 1<<20))
	steps := []struct {
		args []string
		code int
	}{
		{[]string{"tag-set", "t1", "True"}, 0},
		{[]string{"tag-set", "t2", "yes"}, 0},           // only true/True are true
		{[]string{"tag-set", "*auto-tag-1", "true"}, 0}, // ignored, as INGInious
		{[]string{"tag-set", "bad id", "true"}, exitUsage},
		{[]string{"tag", "same"}, 0},
		{[]string{"tag", "same"}, 0}, // same value, same id
		{[]string{"feedback-custom", "i", " 42 "}, 0},
		{[]string{"feedback-custom", "f", "1e3"}, 0},
		{[]string{"feedback-custom", "n", "3.0"}, 0}, // Python's float("3.0"): a float, not 3
		{[]string{"feedback-custom", "-j", "jf", "[3.0, 2, 1e2]"}, 0},
		{[]string{"feedback-custom", "s", "12abc"}, 0},
		{[]string{"feedback-custom", "-j", "j", "[1, {\"a\": null}]"}, 0},
		{[]string{"feedback-custom", "-j", "bad", "{nope"}, exitFailure},
		{[]string{"feedback", "-j", "k:{\"x\": 1}"}, 0},
		{[]string{"feedback-grade", "nan"}, exitUsage},
		{[]string{"feedback-grade", " 75.5 "}, 0},
	}
	for _, s := range steps {
		if code, _, stderr := c.command("", s.args[0], s.args[1:]...); code != s.code {
			t.Fatalf("%v: exit %d (%s), want %d", s.args, code, stderr, s.code)
		}
	}
	f := c.feedback()
	tests := rawStrings(f.Tests)
	if tests["t1"] != "true" || tests["t2"] != "false" || len(tests) != 3 {
		t.Errorf("tests = %v", tests)
	}
	want := map[string]string{"i": "42", "f": "1000.0", "n": "3.0", "jf": "[3.0,2,1e2]", "s": `"12abc"`, "j": `[1,{"a":null}]`, "k": `{"x":1}`}
	if got := rawStrings(f.Custom); len(got) != len(want) {
		t.Errorf("custom = %v, want %v", got, want)
	} else {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("custom[%s] = %s, want %s", k, got[k], v)
			}
		}
	}
	if f.Grade == nil || *f.Grade != 75.5 {
		t.Errorf("grade = %v", f.Grade)
	}
}

func TestFeedbackPrint(t *testing.T) {
	c := newContainer(t, job(nil, 1<<20))
	code, out, stderr := c.command("", "feedback", "-r", "success", "-g", "50", "-f", "é", "-p")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := `{"result": "success", "text": "\u00e9", "grade": 50}` + "\n"
	if out != want {
		t.Errorf("feedback -p = %q, want %q", out, want)
	}
}

func TestStudentCommandsWithoutAnAgent(t *testing.T) {
	c := newContainer(t, job(nil, 1<<20))
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"run_student", "--time", "5", "ls", "-l"}, 254, "cannot reach the agent"},
		{[]string{"ssh_student", "--setup-script", "true"}, 254, "cannot reach the agent"},
		{[]string{"ssh_student", "ls"}, 2, "unrecognized arguments: ls"},
		{[]string{"run_student", "--time"}, 2, "expected one argument"},
		{[]string{"run_student", "--memory", "lots", "ls"}, 2, "invalid value"},
		{[]string{"run_student", "--bogus", "ls"}, 2, "unrecognized arguments: --bogus"},
		{[]string{"run_student"}, 2, "required: cmd"},
		{[]string{"run_student", "--run-as-root", "ls"}, 254, "root is not supported"},
	}
	for _, tt := range tests {
		code, _, stderr := c.command("", tt.args[0], tt.args[1:]...)
		if code != tt.code || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", tt.args, code, stderr, tt.code, tt.stderr)
		}
	}
}

func TestParseStudentArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"run_student", []string{"--time", "5", "--hard-time=9", "--memory", "64", "--share-network", "python3", "-c", "print(1)"},
			`{"argv":["python3","-c","print(1)"],"time":5,"hard_time":9,"memory":64,"share_network":true}`},
		// INGInious' one-string form is split the shell's way.
		{"run_student", []string{"--container", "cpp", `sh -c 'echo "a b"' x\ y`},
			`{"argv":["sh","-c","echo \"a b\"","x y"],"environment":"cpp"}`},
		{"run_student", []string{"--", "--weird"}, `{"argv":["--weird"]}`},
		{"ssh_student", []string{"--setup-script", "make", "--teardown-script=rm -f x", "--time", "0.5"},
			`{"time":0.5,"ssh":true,"setup_script":"make","teardown_script":"rm -f x"}`},
	}
	for _, tt := range tests {
		r, help, err := parseStudentArgs(tt.name, tt.args)
		if err != nil || help {
			t.Fatalf("%v: %v (help %v)", tt.args, err, help)
		}
		got, _ := json.Marshal(r)
		if string(got) != tt.want {
			t.Errorf("%v:\n got %s\nwant %s", tt.args, got, tt.want)
		}
	}
}

func TestShellSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		bad  bool
	}{
		{"a b  c", []string{"a", "b", "c"}, false},
		{`'a b' "c\"d" e\ f`, []string{"a b", `c"d`, "e f"}, false},
		{`''`, []string{""}, false},
		{`"unterminated`, nil, true},
		{`'unterminated`, nil, true},
	}
	for _, tt := range tests {
		got, err := shellSplit(tt.in)
		if (err != nil) != tt.bad || (!tt.bad && strings.Join(got, "|") != strings.Join(tt.want, "|")) {
			t.Errorf("shellSplit(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestArchiveCommand(t *testing.T) {
	c := newContainer(t, job(nil, 1<<20))
	c.task("a.txt", "A", 0o600)
	steps := []struct {
		args []string
		code int
	}{
		{[]string{"archive", "-a", "a.txt"}, 0},
		{[]string{"archive", "-a", "a.txt", "-o", "sub/deep"}, 0},
		{[]string{"archive", "-s", "sub/deep", "-r", "a.txt"}, 0},
		{[]string{"archive", "-a", "missing.txt"}, exitUsage},
		{[]string{"archive", "-a", "."}, exitUsage},
	}
	for _, s := range steps {
		if code, _, stderr := c.command("", s.args[0], s.args[1:]...); code != s.code {
			t.Fatalf("%v: exit %d (%s), want %d", s.args, code, stderr, s.code)
		}
	}
	info, err := os.Stat(filepath.Join(c.paths.Archive, "a.txt"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("archived a.txt: %v, %v (want mode 0600 kept)", info, err)
	}
	if _, err := os.Stat(filepath.Join(c.paths.Archive, "sub/deep/a.txt")); !os.IsNotExist(err) {
		t.Errorf("sub/deep/a.txt should be removed: %v", err)
	}
}

func TestRstCommands(t *testing.T) {
	c := newContainer(t, job(nil, 1<<20))
	tests := []struct {
		stdin string
		args  []string
		out   string
	}{
		{"int a;\nint b;\n", []string{"rst-code", "-l", "c"}, "\n\n.. code-block:: c\n\n\tint a;\n\tint b;\n\n\n"},
		{"", []string{"rst-msgblock", "-c", "success", "-t", "Yeah!", "-m", "Well done!"},
			"\n\n.. admonition:: Yeah!\n\t:class: alert alert-success\n\n\tWell done!\n\n\n"},
		{"", []string{"rst-msgblock", "-c", "weird", "-m", `a\nb`, "-e"},
			"\n\n.. note:: \n\t:class: alert alert-info\n\n\ta\n\tb\n\n\n"},
		{"", []string{"rst-indent", "-a", "2", "-m", "x"}, "\t\tx\n\n"},
		{"", []string{"rst-indent", "-a", "-1", "-c", " ", "-m", "  x\n y"}, " x\ny\n\n"},
	}
	for _, tt := range tests {
		code, out, stderr := c.command(tt.stdin, tt.args[0], tt.args[1:]...)
		if code != 0 || out != tt.out {
			t.Errorf("%v = %q exit %d (%s), want %q", tt.args, out, code, stderr, tt.out)
		}
	}
}

// After run_student, /task/student is the student's: a link left there
// must not lead the grader's commands out of it, to a hidden file read
// into the archive or the feedback, or to the run file overwritten; nor
// may a named pipe hold them until the job's wall time. Links within it
// work.
func TestStudentLinksDoNotLeadOut(t *testing.T) {
	c := newContainer(t, job(map[string]any{"name": "f"}, 1<<20))
	c.task("hidden_expected.txt", "THE HIDDEN ANSWER\n", 0o644)
	c.task("run", "#!/bin/bash\necho grading\n", 0o755)
	c.task("student/real.txt", "the student's output\n", 0o644)
	c.task("student/tpl.py", "name = @@name@@\n", 0o644)
	links := map[string]string{
		"output.txt":   "../hidden_expected.txt",                           // relative, out
		"abs.txt":      filepath.Join(c.paths.Task, "hidden_expected.txt"), // absolute, out
		"up":           "..",                                               // a directory, out
		"run.py":       filepath.Join(c.paths.Task, "run"),                 // a write target, out
		"inside.txt":   "real.txt",                                         // stays inside
		"feedback.tpl": "../hidden_expected.txt",                           // a template, out
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(c.paths.Student, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, fifo := range []string{"pipe.txt", "pipe.py"} {
		if err := syscall.Mkfifo(filepath.Join(c.paths.Student, fifo), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"archive", "-a", "student/output.txt"}, false},
		{[]string{"archive", "-a", filepath.Join(c.paths.Student, "abs.txt")}, false},
		{[]string{"archive", "-a", "student/up/hidden_expected.txt"}, false},
		{[]string{"archive", "-a", "student/pipe.txt"}, false},
		{[]string{"archive", "-a", "student/inside.txt"}, true},
		{[]string{"archive", "-a", "hidden_expected.txt"}, true}, // the author's own path
		{[]string{"parsetemplate", "-o", "student/run.py", "student/tpl.py"}, false},
		{[]string{"parsetemplate", "-o", "student/up/run", "student/tpl.py"}, false},
		{[]string{"parsetemplate", "-o", "student/out.py", "student/output.txt"}, false},
		{[]string{"parsetemplate", "-o", "student/pipe.py", "student/tpl.py"}, false},
		{[]string{"parsetemplate", "-o", "student/out.py", "student/pipe.txt"}, false},
		{[]string{"parsetemplate", "-o", "student/sub/out.py", "student/tpl.py"}, true},
		{[]string{"rst-image", "student/output.txt"}, false},
		{[]string{"rst-image", "-f", "png", "student/pipe.txt"}, false},
		{[]string{"rst-image", "-f", "png", "student/inside.txt"}, true},
		{[]string{"feedback-msg-tpl", "student/feedback"}, true}, // a broken template's text
	} {
		code, stdout, stderr := c.command("", tc.args[0], tc.args[1:]...)
		if (code == 0) != tc.ok {
			t.Errorf("%v: exit %d (%s), want ok=%v", tc.args, code, strings.TrimSpace(stderr), tc.ok)
		}
		if strings.Contains(stdout, base64.StdEncoding.EncodeToString([]byte("THE HIDDEN ANSWER\n"))) {
			t.Errorf("%v printed the hidden file", tc.args)
		}
	}
	if fb := c.feedback(); strings.Contains(fmt.Sprint(fb), "HIDDEN") {
		t.Errorf("the feedback holds the hidden file: %+v", fb)
	}
	if got := readTask(t, c, "run"); got != "#!/bin/bash\necho grading\n" {
		t.Errorf("the run file was overwritten: %q", got)
	}
	if got := readTask(t, c, "student/sub/out.py"); got != "name = f\n" {
		t.Errorf("parsetemplate within the student's directory: %q", got)
	}
	entries, err := os.ReadDir(c.paths.Archive)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if fmt.Sprint(names) != "[hidden_expected.txt inside.txt]" {
		t.Errorf("archived %v, want only the author's own file and the link within", names)
	}
}
