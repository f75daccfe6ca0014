package helper

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Ids as INGInious' agent accepts them (case-insensitive); a result with
// another id is refused as a whole there, so the commands refuse it at once.
var (
	problemIDPattern = regexp.MustCompile(`(?i)^[a-z0-9\-._]+$`)
	testIDPattern    = regexp.MustCompile(`(?i)^[a-z0-9\-._*]+$`)
)

// autoTagPrefix starts the ids `tag` makes; tag-set may not use it.
const autoTagPrefix = "*auto-tag-"

// knownStatuses are the results INGInious knows; the frontend shows any
// other as "crash", and so does the result built by `run`.
var knownStatuses = map[string]bool{
	StatusSuccess: true, StatusFailed: true, StatusError: true, StatusCrash: true,
	StatusTimeout: true, StatusOverflow: true, StatusKilled: true,
}

func checkProblemID(pid string) error {
	if pid != "" && !problemIDPattern.MatchString(pid) {
		return exitWith(exitUsage, fmt.Errorf("invalid problem id %q: use letters, digits, '-', '_' and '.'", pid))
	}
	return nil
}

func (e *cmdEnv) checkResult(cmd, result string) error {
	if result == "" {
		return exitWith(exitUsage, fmt.Errorf("the result may not be empty"))
	}
	if !knownStatuses[result] {
		e.warnf(cmd, "warning: unknown result %q will be shown as \"crash\" (use success, failed, error, crash, timeout, overflow or killed)", result)
	}
	return nil
}

// parseGrade reads a grade as Python's float() does, finite only (JSON
// cannot carry inf or nan).
func parseGrade(s string) (float64, error) {
	g, ok := pyFloat(s)
	if !ok || math.IsInf(g, 0) || math.IsNaN(g) {
		return 0, exitWith(exitUsage, fmt.Errorf("invalid grade %q: give a number such as 87.5", s))
	}
	return g, nil
}

// customValue is INGInious' conversion of a custom value: JSON when asked,
// else an integer, else a float, else the string itself. Integers and
// floats stay apart as in Python (INGInious sends 3 and 3.0 to its webapp
// as an int and a float): a float is always written with a decimal point
// or an exponent, and JSON keeps its numbers as they were written, so that
// the runtime, which reads a number without either as an integer
// (contract.DecodeValues), hands the webapp the type Python would have.
func customValue(s string, isJSON bool) (json.RawMessage, error) {
	if isJSON {
		// Each number kept as written (3.0 stays a float); one value, and
		// nothing after it but space, as json.Unmarshal would have it.
		var v any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		err := dec.Decode(&v)
		if err == nil {
			if _, tail := dec.Token(); tail != io.EOF {
				err = errors.New("data after the value")
			}
		}
		if err != nil {
			return nil, exitWith(exitFailure, fmt.Errorf("cannot decode json: invalid value %q: %w", s, err))
		}
		return json.Marshal(v)
	}
	if i, ok := pyInt(s); ok {
		return json.RawMessage(strconv.FormatInt(i, 10)), nil
	}
	if f, ok := pyFloat(s); ok && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return json.RawMessage(floatJSON(f)), nil
	}
	return json.Marshal(s)
}

// floatJSON writes a finite float as JSON that reads back as a float:
// with a decimal point or an exponent (3.0, not 3), as Python's json.dumps.
func floatJSON(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// readMessage is -m MSG, or stdin when -m is absent or empty (INGInious).
func (e *cmdEnv) readMessage(msg string) (string, error) {
	if msg != "" {
		return msg, nil
	}
	data, err := io.ReadAll(e.stdin)
	if err != nil {
		return "", fmt.Errorf("reading the message on stdin: %w", err)
	}
	return string(data), nil
}

func maybeUnescape(s string, escape bool) string {
	if escape {
		return unescape(s)
	}
	return s
}

var (
	optAppend  = option{short: 'a', long: "append", help: "append to the current feedback"}
	optID      = option{short: 'i', long: "id", value: true, metavar: "ID", help: "problem id (default: the whole task)"}
	optEscape  = option{short: 'e', long: "escape", help: "interpret backslash escapes"}
	optMessage = option{short: 'm', long: "message", value: true, metavar: "MSG", help: "the message (default: read stdin)"}
)

func init() {
	register(&command{
		name: "feedback-result", usage: "[-i ID] RESULT",
		desc: "set the result of the task or of a problem",
		opts: []option{optID}, pos: []string{"result"},
		run: func(e *cmdEnv, a *parsed) error {
			pid, result := a.str("id"), a.pos[0]
			if err := checkProblemID(pid); err != nil {
				return err
			}
			if err := e.checkResult("feedback-result", result); err != nil {
				return err
			}
			return e.store().Update(func(f *feedback) error { f.setResult(pid, result); return nil })
		},
	})
	register(&command{
		name: "feedback-grade", usage: "GRADE",
		desc: "set the grade (a float, usually 0 to 100)",
		pos:  []string{"grade"},
		run: func(e *cmdEnv, a *parsed) error {
			g, err := parseGrade(a.pos[0])
			if err != nil {
				return err
			}
			return e.store().Update(func(f *feedback) error { f.Grade = &g; return nil })
		},
	})
	register(&command{
		name: "feedback-msg", usage: "[-a] [-i ID] [-e] [-m MSG]",
		desc: "set (or append to) the feedback text of the task or of a problem",
		opts: []option{optAppend, optID, optEscape, optMessage},
		run: func(e *cmdEnv, a *parsed) error {
			pid := a.str("id")
			if err := checkProblemID(pid); err != nil {
				return err
			}
			msg, err := e.readMessage(a.str("message"))
			if err != nil {
				return err
			}
			msg = maybeUnescape(msg, a.set("escape"))
			return e.store().Update(func(f *feedback) error { f.setText(pid, msg, a.set("append")); return nil })
		},
	})
	register(&command{
		name: "feedback", usage: "[-r RESULT] [-g GRADE] [-f TEXT] [-i ID] [-e] [-p] [-c KEY:VALUE] [-j KEY:JSON]",
		desc: "set several feedback fields at once",
		opts: []option{
			{short: 'r', long: "result", value: true, metavar: "RESULT", help: "result of the task or problem"},
			{short: 'g', long: "grade", value: true, metavar: "GRADE", help: "grade"},
			{short: 'f', long: "feedback", value: true, metavar: "TEXT", help: "feedback text (replaces)"},
			optID, optEscape,
			{short: 'p', long: "print", help: "print the feedback as JSON"},
			{short: 'c', long: "custom", value: true, metavar: "KEY:VALUE", help: "custom value"},
			{short: 'j', long: "custom-json", value: true, metavar: "KEY:JSON", help: "custom value given as JSON"},
		},
		run: runFeedback,
	})
	register(&command{
		name: "feedback-custom", usage: "[-j] KEY VALUE",
		desc: "set a custom value (a number when it reads as one, or JSON with -j)",
		opts: []option{{short: 'j', long: "json", help: "the value is JSON"}},
		pos:  []string{"key", "value"},
		run: func(e *cmdEnv, a *parsed) error {
			v, err := customValue(a.pos[1], a.set("json"))
			if err != nil {
				return err
			}
			return e.store().Update(func(f *feedback) error { f.setCustom(a.pos[0], v); return nil })
		},
	})
	register(&command{
		name: "feedback-state", usage: "STATE",
		desc: "set the state string given to the next submission as @state",
		pos:  []string{"state"},
		run: func(e *cmdEnv, a *parsed) error {
			s := a.pos[0]
			return e.store().Update(func(f *feedback) error { f.State = &s; return nil })
		},
	})
	register(&command{
		name: "tag", usage: "VALUE",
		desc: "add an automatic tag showing VALUE",
		pos:  []string{"value"},
		run: func(e *cmdEnv, a *parsed) error {
			v := a.pos[0]
			h := fnv.New64a()
			h.Write([]byte(v))
			id := autoTagPrefix + strconv.FormatUint(h.Sum64(), 10)
			raw, _ := json.Marshal(v)
			return e.store().Update(func(f *feedback) error { f.setTest(id, raw); return nil })
		},
	})
	register(&command{
		name: "tag-set", usage: "TAG true|false",
		desc: "set a tag of the task to true or false",
		pos:  []string{"tag", "value"},
		run: func(e *cmdEnv, a *parsed) error {
			id, v := a.pos[0], a.pos[1] == "true" || a.pos[1] == "True"
			if strings.HasPrefix(id, autoTagPrefix) {
				e.warnf("tag-set", "ignored: tag ids may not start with %q", autoTagPrefix)
				return nil // INGInious ignores it silently
			}
			if !testIDPattern.MatchString(id) {
				return exitWith(exitUsage, fmt.Errorf("invalid tag id %q: use letters, digits, '-', '_', '.' and '*'", id))
			}
			return e.store().Update(func(f *feedback) error { f.setTest(id, json.RawMessage(strconv.FormatBool(v))); return nil })
		},
	})
}

func (f *feedback) setCustom(key string, v json.RawMessage) {
	if f.Custom == nil {
		f.Custom = map[string]json.RawMessage{}
	}
	f.Custom[key] = v
}

func (f *feedback) setTest(id string, v json.RawMessage) {
	if f.Tests == nil {
		f.Tests = map[string]json.RawMessage{}
	}
	f.Tests[id] = v
}

// runFeedback is `feedback`: result, grade, text, custom value, in that
// order and in one update, then -p prints the feedback.
func runFeedback(e *cmdEnv, a *parsed) error {
	pid := a.str("id")
	if err := checkProblemID(pid); err != nil {
		return err
	}
	result := a.str("result")
	if result != "" {
		if err := e.checkResult("feedback", result); err != nil {
			return err
		}
	}
	var grade *float64
	if s := a.str("grade"); s != "" {
		g, err := parseGrade(s)
		if err != nil {
			return err
		}
		grade = &g
	}
	text := maybeUnescape(a.str("feedback"), a.set("escape"))
	var customKey string
	var customVal json.RawMessage
	spec, isJSON := a.str("custom"), false
	if j := a.str("custom-json"); j != "" {
		spec, isJSON = j, true
	}
	if spec != "" {
		key, val, _ := strings.Cut(spec, ":")
		v, err := customValue(val, isJSON)
		if err != nil {
			return err
		}
		customKey, customVal = key, v
	}
	var printed []byte
	store := e.store()
	err := store.Update(func(f *feedback) error {
		if result != "" {
			f.setResult(pid, result)
		}
		if grade != nil {
			f.Grade = grade
		}
		if text != "" {
			f.setText(pid, text, false)
		}
		if customVal != nil {
			f.setCustom(customKey, customVal)
		}
		if a.set("print") {
			raw, err := json.Marshal(f)
			if err != nil {
				return fmt.Errorf("encoding the feedback: %w", err)
			}
			printed = raw
		}
		return nil
	})
	if err != nil || printed == nil {
		return err
	}
	s, err := pyDumps(printed)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, s)
	return err
}
