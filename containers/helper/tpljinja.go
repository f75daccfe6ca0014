package helper

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
)

// INGInious renders feedback templates with Jinja2, and courses use more
// of it than renderTemplate's subset ({% for %}, {% if %}, {% set %},
// filters, _() for translations). When a template needs more, and the
// image has python3 with jinja2 (the default image has), feedback-msg-tpl
// renders it there, as INGInious' set_feedback_from_tpl does, in Jinja2's
// sandbox: a template under /task/student, which the student's code may
// have rewritten, cannot reach Python's internals through it. An image
// without either keeps the error block of renderTemplate.

// jinjaScript reads {"template", "vars", "lang", "localedir"} on stdin and
// writes the rendered text; exit 3: no jinja2; exit 1: the traceback of a
// template that Jinja2 could not render.
const jinjaScript = `import json, sys
try:
    import jinja2.sandbox
except ImportError:
    sys.exit(3)
import gettext, traceback
req = json.load(sys.stdin)
if req["lang"]:
    tr = gettext.translation("messages", req["localedir"], languages=[req["lang"]], fallback=True)
else:
    tr = gettext.NullTranslations()
params = dict(req["vars"])
params["_"] = tr.gettext
try:
    out = jinja2.sandbox.SandboxedEnvironment().from_string(req["template"]).render(params)
except Exception:
    sys.stdout.write(traceback.format_exc())
    sys.exit(1)
sys.stdout.write(out)
`

// errNoJinja: no python3 with jinja2 here.
var errNoJinja = errors.New("no python3 with jinja2 in this image")

// jinjaError is a template Jinja2 could not render; its text is the
// Python traceback, which INGInious puts in the feedback.
type jinjaError struct{ traceback string }

func (e *jinjaError) Error() string { return strings.TrimSuffix(e.traceback, "\n") }

// renderJinja renders tpl with Jinja2 in the image's python3, with vars
// and _ translating into lang with the task's lang/LANG/LC_MESSAGES/
// messages.mo (INGInious' lang.init).
func renderJinja(p Paths, tpl string, vars map[string]string, lang string) (string, error) {
	python, err := pathLookup("python3")
	if err != nil {
		return "", errNoJinja
	}
	req, err := json.Marshal(map[string]any{
		"template": tpl, "vars": vars, "lang": lang, "localedir": filepath.Join(p.Task, "lang"),
	})
	if err != nil {
		return "", err
	}
	cmd := exec.Command(python, "-I", "-c", jinjaScript)
	cmd.Stdin = bytes.NewReader(req)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), nil
	case errors.As(err, &ee) && ee.ExitCode() == 1 && out.Len() > 0:
		return "", &jinjaError{traceback: out.String()}
	case errors.As(err, &ee) && ee.ExitCode() == 3:
		return "", errNoJinja
	default:
		return "", errors.New("python3: " + strings.TrimSpace(stderr.String()) + " (" + err.Error() + ")")
	}
}
