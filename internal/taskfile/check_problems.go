package taskfile

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// idPattern is INGInious' id_checker: problem, box and choice ids, and
// the keys the grader may give problem feedback for.
var idPattern = regexp.MustCompile(`(?i)^[a-z0-9\-._]+$`)

// boxTypes are the box types of an INGInious code problem's `boxes`.
var boxTypes = []string{"text", "input-text", "input-decimal", "input-integer", "multiline", "file"}

// checkProblems checks task.yaml's problems and returns their ids (nil
// when there are none to check answers against).
func checkProblems(f findings, root *yaml.Node, o CheckOptions) map[string]bool {
	pn := get(root, "problems")
	if isNull(pn) {
		f.add(SevWarning, keyLine(root, "problems"), "no problems: INGInious shows a task only with at least one problem (ingo runs it anyway)")
		return nil
	}
	if !isMap(pn) {
		f.add(SevError, line(pn), "problems must be a mapping of problem ids to problems, not a %s", kindName(pn))
		return nil
	}
	types := slices.Concat(ProblemTypes, o.ProblemTypes)
	ids := map[string]bool{}
	for _, p := range pairs(pn) {
		ids[p.key] = true
		if !idPattern.MatchString(p.key) {
			f.add(SevError, p.kn.Line, "problem id %q is not valid: INGInious wants letters, digits, -, _ and . only", p.key)
		}
		checkProblem(f, "problems."+p.key+".", p, types)
	}
	if len(ids) == 0 {
		f.add(SevWarning, line(pn), "no problems: INGInious shows a task only with at least one problem (ingo runs it anyway)")
		return nil
	}
	return ids
}

// checkProblem checks one problem's declaration for its type.
func checkProblem(f findings, path string, p pair, types []string) {
	if !isMap(p.v) {
		f.add(SevError, line(p.v), "problem %s must be a mapping with at least a type", p.key)
		return
	}
	for _, q := range pairs(p.v) {
		if !slices.Contains(problemKeys, q.key) {
			if hint := didYouMean(q.key, problemKeys); hint != "" {
				f.add(SevWarning, q.kn.Line, "unknown key %s%s", path+q.key, hint)
			}
		}
	}
	tn := get(p.v, "type")
	if isNull(tn) {
		f.add(SevError, line(p.kn), "problem %s has no type (one of %s)", p.key, strings.Join(types, ", "))
		return
	}
	typ := deref(tn).Value
	if deref(tn).Kind != yaml.ScalarNode || !slices.Contains(types, typ) {
		hint := ""
		// Older INGInious wrote code-single-line and multiple-choice.
		if c := closest(strings.ReplaceAll(typ, "-", "_"), types); c != "" && c != typ {
			hint = fmt.Sprintf(" (did you mean %q?)", c)
		}
		f.add(SevError, line(tn), "problem %s: unknown type %q%s; INGInious' types are %s (a plugin's: --problem-type NAME)",
			p.key, typ, hint, strings.Join(types, ", "))
		return
	}
	switch typ {
	case "multiple_choice":
		checkChoices(f, path, p)
	case "match":
		if isNull(get(p.v, "answer")) {
			f.add(SevError, line(p.kn), "problem %s (match) has no answer to match", p.key)
		}
	case "code":
		checkBoxes(f, path, p)
	}
}

// checkChoices: a multiple_choice needs choices, each with a text, and
// one that is valid for any answer to succeed.
func checkChoices(f findings, path string, p pair) {
	cn := deref(get(p.v, "choices"))
	if cn == nil || cn.Kind != yaml.SequenceNode || len(cn.Content) == 0 {
		f.add(SevError, line(p.kn), "problem %s (multiple_choice) has no choices: give a list of {text, valid}", p.key)
		return
	}
	valid := 0
	for i, c := range cn.Content {
		if !isMap(c) {
			f.add(SevError, line(c), "%schoices[%d] must be a mapping {text, valid, feedback}", path, i)
			continue
		}
		if isNull(get(c, "text")) {
			f.add(SevError, line(c), "%schoices[%d] has no text", path, i)
		}
		if v, err := boolean(path+"valid", value(get(c, "valid"))); err == nil && v {
			valid++
		}
	}
	if valid == 0 {
		f.add(SevError, line(cn), "problem %s (multiple_choice): no choice is valid: true, so no answer can succeed", p.key)
	}
}

// checkBoxes checks an advanced code problem's boxes: ids, types, and
// the content a text box shows.
func checkBoxes(f findings, path string, p pair) {
	bn := get(p.v, "boxes")
	if isNull(bn) {
		return
	}
	if !isMap(bn) {
		f.add(SevError, line(bn), "%sboxes must be a mapping of box ids to boxes", path)
		return
	}
	for _, b := range pairs(bn) {
		if !idPattern.MatchString(b.key) {
			f.add(SevError, b.kn.Line, "box id %q is not valid: letters, digits, -, _ and . only", b.key)
		}
		t := deref(get(b.v, "type"))
		switch {
		case t == nil:
			f.add(SevError, b.kn.Line, "%sboxes.%s has no type (one of %s)", path, b.key, strings.Join(boxTypes, ", "))
		case !slices.Contains(boxTypes, t.Value):
			f.add(SevError, t.Line, "%sboxes.%s: unknown box type %q%s", path, b.key, t.Value, didYouMean(t.Value, boxTypes))
		case t.Value == "text" && isNull(get(b.v, "content")):
			f.add(SevError, b.kn.Line, "%sboxes.%s (text) has no content", path, b.key)
		}
	}
}
