package mcq

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// errNeedsContainer: a problem whose answer only a grader in a container
// can check (INGInious' check_answer returning None).
var errNeedsContainer = errors.New("Task wrongly configured as a MCQ")

// The grader's own messages, which a problem's messages may name, as in
// INGInious; Grade puts them in the job's language.
const (
	msgWrongMultiple = "_wrong_answer_multiple"
	msgWrong         = "_wrong_answer"
	msgRight         = "_correct_answer"
)

// verdict is a problem's answer checked.
type verdict struct {
	right bool
	// messages are what the problem says, nil when it says nothing (no
	// line for the problem in the result).
	messages []string
	// invalid counts the wrong choices of a multiple choice problem.
	invalid int
}

// problem is a problem of task_problems, made from its description.
type problem interface {
	check(answer any, tr catalog) (verdict, error)
}

// problemID is INGInious' id_checker.
var problemID = regexp.MustCompile(`(?i)^[a-z0-9\-._]+\n?$`)

// newProblem makes the problem id of task.yaml from its description, as
// INGInious' problem classes do, refusing what they refuse.
func newProblem(id string, desc any) (problem, error) {
	if !problemID.MatchString(id) {
		return nil, fmt.Errorf("problem id %q has other characters than letters, digits, '-', '_' and '.'", id)
	}
	d, ok := desc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("problem %s is not a map of its settings", id)
	}
	switch typ, _ := d["type"].(string); typ {
	case "multiple_choice":
		return newChoice(id, d)
	case "match":
		a, ok := d["answer"]
		if !ok {
			return nil, fmt.Errorf("problem %s (match) has no answer", id)
		}
		return &match{answer: pyStr(a), centralize: Truthy(d["centralize"])}, nil
	case "code", "code_single_line", "file", "code_multiple_languages", "code_file_multiple_languages":
		return needsContainer{}, nil
	default:
		return nil, fmt.Errorf("problem %s has the type %q, which no grader knows", id, typ)
	}
}

// needsContainer is a problem only a grader in a container can check.
type needsContainer struct{}

func (needsContainer) check(any, catalog) (verdict, error) { return verdict{}, errNeedsContainer }

type match struct {
	answer     string
	centralize bool
}

func (m *match) check(answer any, _ catalog) (verdict, error) {
	s, ok := answer.(string)
	if !ok {
		return verdict{}, fmt.Errorf("the answer is a %s, not a text", typeName(answer))
	}
	v := verdict{right: pyStrip(s) == m.answer}
	if !m.centralize {
		v.messages = []string{msgWrong}
		if v.right {
			v.messages = []string{msgRight}
		}
	}
	return v, nil
}

type choice struct {
	index    int
	valid    bool
	feedback any // nil: none
}

type multipleChoice struct {
	multiple, centralize bool
	errorMsg, successMsg any // nil: none
	// choices are the valid ones first, as INGInious orders them.
	choices []choice
	// at is where choice i is in choices: an answer lists up to as many
	// choices as there are, and a scan for each was quadratic (131,072
	// choices took seconds per problem).
	at []int
}

func newChoice(id string, d map[string]any) (*multipleChoice, error) {
	list, ok := d["choices"].([]any)
	if !ok {
		return nil, fmt.Errorf("multiple choice problem %s does not have choices or choices are not an array", id)
	}
	p := &multipleChoice{multiple: Truthy(d["multiple"]), centralize: Truthy(d["centralize"]),
		errorMsg: d["error_message"], successMsg: d["success_message"]}
	var bad []choice
	for i, c := range list {
		cm, ok := c.(map[string]any)
		if !ok || !hasKey(cm, "text") {
			return nil, fmt.Errorf("choice %d of problem %s does not have text", i, id)
		}
		ch := choice{index: i, valid: Truthy(cm["valid"]), feedback: cm["feedback"]}
		if ch.valid {
			p.choices = append(p.choices, ch)
		} else {
			bad = append(bad, ch)
		}
	}
	good := len(p.choices)
	if good == 0 {
		return nil, fmt.Errorf("problem %s does not have any valid answer", id)
	}
	p.choices = append(p.choices, bad...)
	p.at = make([]int, len(p.choices))
	for k, c := range p.choices {
		p.at[c.index] = k
	}
	if l, ok := d["limit"]; ok {
		n, isInt := pyInt(l)
		if !isInt || n < 0 || p.multiple && n != 0 && n < int64(good) {
			return nil, fmt.Errorf("invalid limit in problem %s", id)
		}
	}
	return p, nil
}

func (p *multipleChoice) byIndex(i int) *choice {
	if i < 0 || i >= len(p.at) {
		return nil
	}
	return &p.choices[p.at[i]]
}

func (p *multipleChoice) check(answer any, tr catalog) (verdict, error) {
	v := verdict{right: true}
	var msgs []string
	if p.multiple {
		chosen, ok := answer.([]any)
		if !ok {
			return verdict{}, fmt.Errorf("the answer is a %s, not a list of choices", typeName(answer))
		}
		// A web form sends each choice once at most; a longer list is
		// no answer of the form, and each of its items adds its
		// choice's feedback (100,000 times 4 KiB was 390 MiB).
		if len(chosen) > len(p.choices) {
			return verdict{}, fmt.Errorf("the answer lists %d choices of %d", len(chosen), len(p.choices))
		}
		named := make([]bool, len(p.choices)) // as INGInious tests it
		for _, a := range chosen {
			i, err := choiceIndex(a)
			if err != nil {
				return verdict{}, err
			}
			c := p.byIndex(i)
			if c == nil {
				return verdict{}, fmt.Errorf("the answer %s is none of the %d choices", cut(pyStr(a)), len(p.choices))
			}
			// A choice is chosen when the list holds its index, as a
			// number or as its text: "01" reads as 1 but names nothing.
			named[i] = named[i] || names(a, i)
			if c.feedback != nil {
				msgs = append(msgs, tr.gettext(c.feedback))
			}
		}
		for _, c := range p.choices {
			if c.valid != named[c.index] {
				v.right = false
				v.invalid++
			}
		}
	} else {
		i, err := choiceIndex(answer)
		if err != nil {
			return verdict{}, err
		}
		c := p.byIndex(i)
		if c == nil {
			return verdict{}, fmt.Errorf("the answer %s is none of the %d choices", cut(pyStr(answer)), len(p.choices))
		}
		v.right = c.valid
		if !v.right {
			v.invalid = 1
		}
		if c.feedback != nil {
			msgs = append(msgs, tr.gettext(c.feedback))
		}
	}
	switch {
	case !v.right && p.errorMsg != nil:
		msgs = append([]string{tr.gettext(p.errorMsg)}, msgs...)
	case !v.right && !p.centralize && p.multiple:
		msgs = append([]string{msgWrongMultiple}, msgs...)
	case !v.right && !p.centralize:
		msgs = append([]string{msgWrong}, msgs...)
	case v.right && p.successMsg != nil:
		msgs = append([]string{tr.gettext(p.successMsg)}, msgs...)
	}
	if len(msgs) > 0 {
		v.messages = msgs
	}
	return v, nil
}

// choiceIndex reads an answer as Python's int() does what a web form
// sends: a number, or a text of one.
func choiceIndex(a any) (int, error) {
	if s, ok := a.(string); ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, fmt.Errorf("the answer %q is not the number of a choice", cut(s))
		}
		return n, nil
	}
	if f, ok := a.(float64); ok && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) < 1<<53 {
		return int(f), nil // Python's int() of a float truncates
	}
	if n, ok := pyInt(a); ok && n >= math.MinInt32 && n <= math.MaxInt32 {
		return int(n), nil
	}
	return 0, fmt.Errorf("the answer is a %s, not the number of a choice", typeName(a))
}

// cut shortens what a result text quotes of an answer.
func cut(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "..."
	}
	return s
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }
