package mcq

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ingo-grader/ingo/messages"
)

// maxFeedbackBytes bounds the texts of a job's problems together: half
// of the default NATS max_payload, past which a result does not travel
// anyway.
const maxFeedbackBytes = 4 << 20

// Grade grades a job of an MCQ task: the problems of its task_problems
// against its input, with tr, the task's catalog of the job's @lang
// (nil: none). What cannot be graded is a crash whose text says why.
func Grade(d *messages.JobDescription, tr catalog) messages.JobResult {
	lang, _ := d.InputData["@lang"].(string)
	previous, _ := d.InputData["@state"].(string)
	crash := func(text string) messages.JobResult {
		return messages.NewJobResult(messages.StatusCrash, text, previous)
	}
	if len(d.TaskProblems) == 0 {
		return crash(textNoProblems)
	}
	ids := slices.Sorted(maps.Keys(d.TaskProblems))
	problems := make([]problem, len(ids))
	for i, id := range ids {
		p, err := newProblem(id, d.TaskProblems[id])
		if err != nil {
			return crash(fmt.Sprintf("This task cannot be graded: %v. Please contact your course administrator.", err))
		}
		problems[i] = p
	}

	res := messages.JobResult{Problems: make(map[string]messages.Result)}
	wrong, invalid, container := 0, 0, false
	feedback := 0 // bytes of the problems' texts so far
	for i, id := range ids {
		answer, ok := d.InputData[id]
		if !ok {
			if _, ok := problems[i].(needsContainer); !ok {
				return crash(fmt.Sprintf("There is no answer to problem %s: submit again.", id))
			}
		}
		v, err := problems[i].check(answer, tr)
		switch {
		case errors.Is(err, errNeedsContainer):
			container = true
			continue
		case err != nil:
			return crash(fmt.Sprintf("The answer to problem %s cannot be graded: %v.", id, err))
		}
		if !v.right {
			wrong++
		}
		invalid += v.invalid
		if v.messages != nil {
			texts := make([]string, len(v.messages))
			for k, m := range v.messages {
				texts[k] = m
				if m == msgWrong || m == msgWrongMultiple || m == msgRight {
					texts[k] = say(lang, m)
				}
				// Counted before they are joined: a catalog's entries
				// share bytes, so that texts of a few bytes in the
				// message may each translate to the same MiB.
				if feedback += len(texts[k]) + 2; feedback > maxFeedbackBytes {
					return crash(fmt.Sprintf("The feedback of this task for this answer is over %d bytes. Please contact your course administrator.", maxFeedbackBytes))
				}
			}
			status := messages.StatusFailed
			if v.right {
				status = messages.StatusSuccess
			}
			res.Problems[id] = messages.Result{Status: status, Text: strings.Join(texts, "\n\n")}
		}
	}
	if container {
		return crash(errNeedsContainer.Error())
	}

	var text []string
	if wrong > 0 {
		text = append(text, strings.Replace(say(lang, textWrongCount), "{}", strconv.Itoa(wrong), 1))
	}
	if invalid > 0 {
		text = append(text, "\n\n"+strings.Replace(say(lang, textInvalidCount), "{}", strconv.Itoa(invalid), 1))
	}
	res.Result = messages.Result{Status: messages.StatusSuccess, Text: strings.Join(text, "\n")}
	if wrong > 0 {
		res.Result.Status = messages.StatusFailed
	}
	res.Grade = 100 * float64(len(ids)-wrong) / float64(len(ids))
	res.State = states(ids)
	if len(res.Problems) == 0 {
		res.Problems = nil
	}
	return res
}

// states is the job's state as INGInious' MCQ agent writes it: the JSON
// of each problem's state (always "" for these problems), as Python's
// json.dumps spaces it.
func states(ids []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(id))
		b.WriteString(`: ""`)
	}
	b.WriteByte('}')
	return b.String()
}
