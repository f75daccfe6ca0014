package helper

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// feedback-msg-tpl renders a feedback template. INGInious uses Jinja2;
// ingo renders the part of it that shell run files use: {{ name }} (an
// option given as name=value, empty when not given), {# comments #} and the
// whitespace control dashes ({{- name -}}), in any image. A template using
// anything else ({% if %}, filters, expressions) is rendered by Jinja2 in
// the image's python3 (tpljinja.go); in an image without it, it is not
// rendered: the feedback gets the error block INGInious shows for a broken
// template, so the problem is visible rather than a half-rendered text.

var tplIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// renderTemplate renders the supported subset of Jinja2.
func renderTemplate(tpl string, vars map[string]string) (string, error) {
	if strings.Contains(tpl, "{%") {
		return "", errors.New("{% ... %} statements are not supported by ingo's feedback-msg-tpl without python3 and jinja2 in the image (only {{ name }} and {# comments #})")
	}
	var b strings.Builder
	rest := tpl
	for {
		i := indexTag(rest)
		if i < 0 {
			b.WriteString(rest)
			break
		}
		closing := map[byte]string{'{': "}}", '#': "#}"}[rest[i+1]]
		end := strings.Index(rest[i+2:], closing)
		if end < 0 {
			return "", fmt.Errorf("unclosed %q", rest[i:i+2])
		}
		inner := rest[i+2 : i+2+end]
		before, after := rest[:i], rest[i+2+end+2:]
		if strings.HasPrefix(inner, "-") {
			before = strings.TrimRight(before, " \t\r\n")
			inner = inner[1:]
		}
		if strings.HasSuffix(inner, "-") {
			after = strings.TrimLeft(after, " \t\r\n")
			inner = inner[:len(inner)-1]
		}
		b.WriteString(before)
		if closing == "}}" {
			name := strings.TrimSpace(inner)
			if !tplIdent.MatchString(name) {
				return "", fmt.Errorf("the expression {{ %s }} is not supported by ingo's feedback-msg-tpl without python3 and jinja2 in the image (only {{ name }})", name)
			}
			b.WriteString(vars[name])
		}
		rest = after
	}
	// Jinja2 drops one trailing newline by default.
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// findTemplate looks where INGInious does: NAME.LANG.tpl, then
// /task/lang/LANG/NAME.tpl, then NAME.tpl (relative names: from the
// current directory).
func findTemplate(p Paths, name, lang string) (string, bool) {
	var candidates []string
	if lang != "" {
		candidates = append(candidates, name+"."+lang+".tpl", filepath.Join(p.Task, "lang", lang, name)+".tpl")
	}
	candidates = append(candidates, name+".tpl")
	for _, c := range candidates {
		if info, err := os.Stat(c); err == nil && !info.IsDir() {
			return c, true
		}
	}
	return "", false
}

// indexTag finds the next "{{" or "{#".
func indexTag(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '{' && (s[i+1] == '{' || s[i+1] == '#') {
			return i
		}
	}
	return -1
}

func missingTemplateText(name string) string {
	return fmt.Sprintf("\n.. error::\n\n    Unable to find template named %s. Please contact your administrator.\n    \n\n    ", name)
}

func brokenTemplateText(err error) string {
	var b strings.Builder
	b.WriteString("\n.. error::\n   \n   An error occured while parsing the feedback template. Here is the full error:\n   \n   ::\n   \n")
	for i, l := range strings.Split(err.Error(), "\n") {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("\t\t" + l)
	}
	b.WriteString("\n\tPlease contact your administrator.\n")
	return b.String()
}

func init() {
	register(&command{
		name: "feedback-msg-tpl", usage: "[-a] [-i ID] TEMPLATE [NAME=VALUE...]",
		desc: "set the feedback text from a Jinja2 template file, given NAME=VALUE options",
		opts: []option{optAppend, optID},
		pos:  []string{"template"}, rest: "options",
		run: func(e *cmdEnv, a *parsed) error {
			pid := a.str("id")
			if err := checkProblemID(pid); err != nil {
				return err
			}
			vars := map[string]string{}
			for _, kv := range a.rest {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return usagef("argument options: invalid entry %s (use NAME=VALUE)", kv)
				}
				vars[k] = v
			}
			lang := ""
			if in, err := loadInput(e.paths.Input); err == nil {
				if out, err := getInput(in, "@lang"); err == nil {
					lang = string(out)
				}
			}
			name := a.pos[0]
			var text string
			if path, ok := findTemplate(e.paths, name, lang); !ok {
				e.warnf("feedback-msg-tpl", "template %q not found", name)
				text = missingTemplateText(name)
			} else if data, err := e.paths.readFile(path); err != nil {
				e.warnf("feedback-msg-tpl", "%v", err)
				text = brokenTemplateText(err)
			} else if out, err := renderTemplate(string(data), vars); err == nil {
				text = out
			} else if out, jerr := renderJinja(e.paths, string(data), vars, lang); jerr == nil {
				text = out // more of Jinja2 than renderTemplate's subset
			} else {
				if !errors.Is(jerr, errNoJinja) {
					err = jerr
				}
				e.warnf("feedback-msg-tpl", "%s: %v", path, err)
				text = brokenTemplateText(err)
			}
			return e.store().Update(func(f *feedback) error { f.setText(pid, text, a.set("append")); return nil })
		},
	})
}
