package helper

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// jinjaPython is the directory of a python3 with jinja2 on the test's
// PATH (the default image has one), or skips the test.
func jinjaPython(t *testing.T) string {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil || exec.Command(python, "-I", "-c", "import jinja2.sandbox").Run() != nil {
		t.Skip("no python3 with jinja2 here")
	}
	return filepath.Dir(python)
}

// runTpl runs feedback-msg-tpl in c with PATH=path and returns the
// feedback text it set.
func runTpl(t *testing.T, c *container, path string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "feedback-msg-tpl"), args...)
	for _, kv := range c.env() {
		if !strings.HasPrefix(kv, "PATH=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PATH="+path)
	cmd.Dir = c.paths.Task
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("feedback-msg-tpl %v: %v: %s", args, err, stderr.String())
	}
	f := c.feedback()
	if f.Text == nil {
		t.Fatalf("feedback-msg-tpl %v set no text", args)
	}
	return *f.Text
}

// TestFeedbackMsgTplJinja: a template with more of Jinja2 than {{ name }}
// (a real course's table of test results: {% set %}, {% for %}, {% if %},
// filters, _()) renders as INGInious renders it, with Jinja2, when the
// image has it. Before, it gave the error block "not supported".
func TestFeedbackMsgTplJinja(t *testing.T) {
	pyDir := jinjaPython(t)
	tpl := `{% set title = _("Test details") %}
{{ title }}
{{ "-" * title|length }}
{% if rows %}
{% for line in rows.split(';') %}
{% set parts = line.split('|') %}
- {{ parts[0] }}: {{ parts[1]|upper }}
{% endfor %}
{% else %}
*{{ _("No test details available.") }}*
{% endif %}
TOTAL: {{ passed }}/{{ total }}
`
	tests := []struct {
		name     string
		tpl      string
		args     []string
		want     string // the text, or with contains: a part of it
		contains bool
	}{
		// Texts as jinja2.Template(tpl).render(...) gives them.
		{"loop", tpl, []string{"rows=a|ok;b|ko", "passed=1", "total=2"},
			"\nTest details\n------------\n\n\n\n- a: OK\n\n\n- b: KO\n\n\nTOTAL: 1/2", false},
		{"else", tpl, []string{"passed=0", "total=2"},
			"\nTest details\n------------\n\n*No test details available.*\n\nTOTAL: 0/2", false},
		// Jinja2's own error, in INGInious' error block.
		{"broken", "{% for %}", nil, "TemplateSyntaxError", true},
		// The sandbox: no way to Python's internals from a template.
		{"sandbox", "{{ ''.__class__.__mro__[1].__subclasses__() }}", nil, "SecurityError", true},
		// _ translates into @lang with the task's lang/fr/LC_MESSAGES/messages.mo.
		{"translated", `{{ _("Hello") }}{% if who %}, {{ who }}{% endif %}`, []string{"who=Ada"}, "Bonjour, Ada", false},
	}
	path := binDir + ":" + pyDir + ":/usr/bin:/bin"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newContainer(t, job(map[string]any{"@lang": "fr"}, 1<<20))
			c.task("fb.tpl", tt.tpl, 0o644)
			c.task("lang/fr/LC_MESSAGES/messages.mo", string(testutil.GettextMO(map[string]string{"Hello": "Bonjour"})), 0o644)
			got := runTpl(t, c, path, append([]string{"fb"}, tt.args...)...)
			if tt.contains {
				if !strings.Contains(got, tt.want) || !strings.Contains(got, "An error occured while parsing the feedback template") {
					t.Errorf("text = %q, want INGInious' error block with %q", got, tt.want)
				}
			} else if got != tt.want {
				t.Errorf("text = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestFeedbackMsgTplWithoutJinja: without python3, or with one that has
// no jinja2, such a template still gives the error block naming what is
// not supported; {{ name }} templates need neither.
func TestFeedbackMsgTplWithoutJinja(t *testing.T) {
	noJinja := t.TempDir()
	if err := os.WriteFile(filepath.Join(noJinja, "python3"), []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{binDir, binDir + ":" + noJinja} {
		c := newContainer(t, job(map[string]any{"@lang": "en"}, 1<<20))
		c.task("bad.tpl", "{% if x %}x{% endif %}", 0o644)
		c.task("ok.tpl", "Hello {{ who }}!\n", 0o644)
		if got := runTpl(t, c, path, "bad"); !strings.Contains(got, "not supported") {
			t.Errorf("PATH=%s: text = %q, want the error block naming what is not supported", path, got)
		}
		if got := runTpl(t, c, path, "ok", "who=Ada"); got != "Hello Ada!" {
			t.Errorf("PATH=%s: text = %q", path, got)
		}
	}
}
