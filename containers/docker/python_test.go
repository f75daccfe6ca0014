package docker

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestPython runs run.py files written against INGInious' Python API (the
// inginious package of the default image) and checks the whole result.
func TestPython(t *testing.T) {
	t.Parallel()
	r := newTestRuntime(t, Options{})
	tests := []struct {
		name  string
		files map[string]string
		input map[string]any
		want  messages.JobResult // Archive, Stdout and Stderr not compared
		// contains, when set, replaces the comparison of Result.Text by
		// these substrings.
		contains []string
	}{
		{
			name: "feedback-input-rst",
			files: map[string]string{
				"template.py": "def f():\n@    @q1@@\n",
				"run.py": `from inginious import feedback, input, rst
import inginious.feedback
from inginious.feedback import set_global_result

answer = input.get_input("q1")
input.parse_template("template.py", "student/answer.py")
with open("student/answer.py") as f:
    code = f.read()
feedback.set_problem_result("failed", "q1")
feedback.set_problem_feedback(rst.get_codeblock("python", code), "q1")
feedback.set_problem_feedback(rst.get_admonition("warning", "Note", "line one\nline two"), "q1", append=True)
feedback.set_problem_feedback(rst.indent_block(1, "only text"), "q2")
feedback.set_grade(75.5)
feedback.set_custom_value("score", 56)
feedback.set_custom_value("details", {"passed": [1, 2], "user": input.get_username()})
feedback.set_custom_value("upload", input.get_input("up:filename") + ":" + input.get_input("up").decode())
feedback.set_tag("compiled", True)
feedback.set_tag("fast", False)
feedback.set_state("attempt-2")
inginious.feedback.set_global_feedback("Your answer has %d lines." % len(answer.splitlines()))
feedback.set_global_feedback(" Keep going.", append=True)
set_global_result("failed")
`,
			},
			input: map[string]any{
				"q1": "print('hi')\nprint('x')", "@username": "alice", "@lang": "en",
				"up": map[string]any{"filename": "main.c", "value": []byte("int main;")},
			},
			want: messages.JobResult{
				Result: messages.Result{Status: messages.StatusFailed, Text: "Your answer has 2 lines. Keep going."},
				Grade:  75.5,
				Problems: map[string]messages.Result{
					"q1": {Status: messages.StatusFailed, Text: "\n\n.. code-block:: python\n\n\tdef f():\n\t    print('hi')\n\t    print('x')\n\n" +
						"\n\n.. admonition:: Note\n\t:class: alert alert-warning\n\n\tline one\n\tline two\n\n"},
					// A problem with a text only (INGInious' layout "text"):
					// no status of its own.
					"q2": {Text: "\tonly text\n"},
				},
				Tests: map[string]any{"compiled": true, "fast": false},
				Custom: map[string]any{
					// Python's ints stay ints, as INGInious' webapp gets them.
					"score":   int64(56),
					"details": map[string]any{"passed": []any{int64(1), int64(2)}, "user": "alice"},
					"upload":  "main.c:int main;",
				},
				State: "attempt-2",
			},
		},
		{
			name: "lang-translated",
			files: map[string]string{
				"lang/fr/LC_MESSAGES/messages.mo": string(testutil.GettextMO(map[string]string{"Hello": "Bonjour", "Well done": "Bravo"})),
				"run.py": `from inginious import lang, input, feedback
lang.init()
feedback.set_global_feedback(_("Hello") + "|" + lang._("Well done") + "|" + _("Untranslated") + "|" + input.get_lang())
feedback.set_global_result("success")
`,
			},
			input: map[string]any{"@lang": "fr"},
			want: messages.JobResult{
				Result: messages.Result{Status: messages.StatusSuccess, Text: "Bonjour|Bravo|Untranslated|fr"},
				Grade:  100,
			},
		},
		{
			name: "lang-fallback",
			files: map[string]string{
				"lang/fr/LC_MESSAGES/messages.mo": string(testutil.GettextMO(map[string]string{"Hello": "Bonjour"})),
				"run.py": `from inginious import lang, input, feedback
feedback.set_global_feedback(lang._("Hello") + "|" + _("Hello") + "|" + input.get_lang())
feedback.set_global_result("success")
`,
			},
			input: map[string]any{"@lang": "de"},
			want: messages.JobResult{
				Result: messages.Result{Status: messages.StatusSuccess, Text: "Hello|Hello|de"},
				Grade:  100,
			},
		},
		{
			// As INGInious' inginious-ipython: its API's names without an
			// import, and IPython's syntax.
			name: "run-py-as-inginious",
			files: map[string]string{
				"data.txt": "x",
				"run.py": `files = !ls *.txt
set_global_result("success")
set_global_feedback(" ".join(files) + " " + get_input("q1"))
`,
			},
			input: map[string]any{"q1": "42"},
			want: messages.JobResult{
				Result: messages.Result{Status: messages.StatusSuccess, Text: "data.txt 42"},
				Grade:  100,
			},
		},
		{
			// INGInious' API modules have no __all__: their star imports
			// also hand run.py the modules they import (input's re,
			// feedback's traceback and Template, run_student's tempfile,
			// zmq...), which run files use without an import of their own.
			name: "run-py-leaked-names",
			files: map[string]string{
				"run.py": `words = re.findall(r"\w+", get_input("q1"))
text = Template("{{ n }} words").render(n=len(words))
ok = all(x is not None for x in (traceback.format_exc, tempfile.gettempdir, socket.AF_INET, struct.pack,
    threading.Lock, array.array, asyncio.sleep, msgpack.dumps, zmq.REQ, inginious_container_api.feedback))
set_global_result("success" if ok else "failed")
set_global_feedback(text)
`,
			},
			input: map[string]any{"q1": "hello big world"},
			want: messages.JobResult{
				Result: messages.Result{Status: messages.StatusSuccess, Text: "3 words"},
				Grade:  100,
			},
		},
		{
			name: "run-student",
			files: map[string]string{
				"run.py": `from inginious import run_student, feedback
out = run_student.run_student_simple("python3 -c 'print(input()[::-1])'", cmd_input="abc\n")
busy = run_student.run_student("python3 -c 'while True: pass'", time_limit=1)
fused = run_student.run_student_simple("sh -c 'echo out; sleep 0.5; echo err >&2; exit 3'", stdout_err_fuse=True)
raw = run_student.run_student_simple(["printf", "%s", "a b"], text=False)
with open("/tmp/o", "w+") as f:
    code = run_student.run_student("sh -c 'read x; echo got $x'", stdin=open("/dev/null").fileno(), stdout=f.fileno())
    f.seek(0)
    written = f.read()
root = run_student.run_student("true", start_student_as_root=True)
feedback.set_global_feedback("\n".join(repr(v) for v in (out, busy, fused, raw, code, written, root)))
feedback.set_global_result("success")
`,
			},
			want: messages.JobResult{
				Result: messages.Result{Status: messages.StatusSuccess,
					Text: "('cba\\n', '', 0)\n253\n('out\\nerr\\n', 3)\n(b'a b', b'', 0)\n0\n'got\\n'\n254"},
				Grade: 100,
			},
		},
		{
			// rst.get_imageblock gives INGInious' block, and refuses (as
			// rst-image does) a link out of /task/student, where a student
			// may have left one to a hidden file.
			name: "rst-imageblock",
			files: map[string]string{
				"hidden.txt": "SECRET",
				"run.py": `import os
from inginious import feedback, rst
with open("student/pic.png", "wb") as f:
    f.write(b"PNG")
os.symlink("/task/hidden.txt", "student/out.png")
msgs = [repr(rst.get_imageblock("student/pic.png")), repr(rst.get_imageblock("student/pic.png", "gif"))]
try:
    msgs.append(rst.get_imageblock("student/out.png"))
except IOError as e:  # as tasks written for INGInious catch it
    msgs.append(type(e).__name__)
feedback.set_global_feedback("\n".join(msgs))
feedback.set_global_result("success")
`,
			},
			want: messages.JobResult{
				Result: messages.Result{Status: messages.StatusSuccess,
					Text: "'\\n\\n.. raw:: html\\n\\n\\t<img src=\"data:image/png;base64,UE5H\">\\n'\n" +
						"'\\n\\n.. raw:: html\\n\\n\\t<img src=\"data:image/gif;base64,UE5H\">\\n'\nOSError"},
				Grade: 100,
			},
		},
		{
			name: "unknown-names-and-helper-errors",
			files: map[string]string{
				"run.py": `from inginious import feedback
msgs = []
try:
    from inginious.feedback import does_not_exist
except ImportError as e:
    msgs.append("ImportError: " + str(e))
try:
    feedback.nope()
except AttributeError as e:
    msgs.append("AttributeError: " + str(e))
try:
    feedback.set_problem_result("failed", "bad id")
except Exception as e:
    msgs.append(type(e).__name__ + ": " + str(e))
from inginious_container_api import rst
msgs.append("alias: " + rst.get_codeblock("c", "x").strip())
feedback.set_global_feedback("\n".join(msgs))
feedback.set_global_result("success")
`,
			},
			want: messages.JobResult{Result: messages.Result{Status: messages.StatusSuccess}, Grade: 100},
			contains: []string{
				"ImportError: inginious.feedback.does_not_exist is not provided by ingo's inginious package (ingo implements: get_feedback, ",
				"AttributeError: inginious.feedback.nope is not provided by ingo's inginious package",
				`HelperError: feedback-result: invalid problem id "bad id"`,
				"alias: .. code-block:: c\n\n\tx",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, _ := runJob(t, r, newJob(r, task(t, tt.files), tt.input))
			got := res
			got.Archive, got.Stdout, got.Stderr = nil, "", ""
			if tt.contains != nil {
				for _, s := range tt.contains {
					if !strings.Contains(got.Result.Text, s) {
						t.Errorf("text %q\ndoes not contain %q", got.Result.Text, s)
					}
				}
				got.Result.Text = ""
			}
			if got.Result != tt.want.Result {
				t.Errorf("result = %s %q\nwant     %s %q", got.Result.Status, got.Result.Text, tt.want.Result.Status, tt.want.Result.Text)
			}
			if got.Grade != tt.want.Grade {
				t.Errorf("grade = %v, want %v", got.Grade, tt.want.Grade)
			}
			if !reflect.DeepEqual(nilIfEmpty(got.Problems), nilIfEmpty(tt.want.Problems)) {
				t.Errorf("problems = %#v\nwant       %#v", got.Problems, tt.want.Problems)
			}
			if !reflect.DeepEqual(nilIfEmpty(got.Tests), nilIfEmpty(tt.want.Tests)) {
				t.Errorf("tests = %#v, want %#v", got.Tests, tt.want.Tests)
			}
			if !reflect.DeepEqual(nilIfEmpty(got.Custom), nilIfEmpty(tt.want.Custom)) {
				t.Errorf("custom = %#v\nwant     %#v", got.Custom, tt.want.Custom)
			}
			if got.State != tt.want.State {
				t.Errorf("state = %q, want %q", got.State, tt.want.State)
			}
		})
	}
}

func nilIfEmpty[M ~map[string]V, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	return m
}
