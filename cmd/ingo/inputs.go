package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ingo-grader/ingo/internal/taskfile"
	"github.com/ingo-grader/ingo/messages"
)

// maxInputFile bounds one -f or -i @ file before it is read: a job
// travels in one message, of at most this. The server's own max_payload
// (8 MiB for ingo up's) is checked when the job is sent, with a message
// that names it; a lower bound here refused files the server (and the
// HTTP API) takes.
const maxInputFile = messages.MaxMessageSize

// inputData builds INGInious' inputdata from -i PID=VALUE, -i PID=@FILE and
// -f PID=FILE, with the types INGInious' webapp gives a run file. A problem
// given several times with -i gets a list (multiple-choice answers), and
// so does one written PID[] (-i 'q[]=1': a list of one), or one the task
// has as a multiple choice with multiple set, which the webapp always
// sends as a list. -i PID=@FILE is the file's text as the answer (a code
// or textarea problem; @@ starts a value with a literal @); a -f file
// becomes {"filename": base name, "value": bytes}, as the INGInious webapp
// sends uploads. @random is a list of numbers, as the webapp's random
// inputs are. The @-keys INGInious' frontend adds are filled in unless
// given with -i.
func inputData(values, files []string, problems map[string]any, now time.Time) (map[string]any, error) {
	data := map[string]any{}
	var order []string
	texts := map[string][]any{}
	lists := map[string]bool{}
	for _, kv := range values {
		pid, value, err := splitInput(kv, "-i", "PID=VALUE")
		if err != nil {
			return nil, err
		}
		if base, isList := strings.CutSuffix(pid, "[]"); isList {
			if pid = strings.TrimSpace(base); pid == "" {
				return nil, fmt.Errorf("-i %q: write PID[]=VALUE", kv)
			}
			lists[pid] = true
		}
		if value, err = textValue(kv, value); err != nil {
			return nil, err
		}
		var v any = value
		if pid == taskfile.RandomKey {
			if v, err = randomValue(kv, value); err != nil {
				return nil, err
			}
			lists[pid] = true
		}
		if _, seen := texts[pid]; !seen {
			order = append(order, pid)
		}
		texts[pid] = append(texts[pid], v)
	}
	for _, pid := range order {
		if vs := texts[pid]; len(vs) == 1 && !lists[pid] && !taskfile.TakesList(problems, pid) {
			data[pid] = vs[0]
		} else {
			data[pid] = vs
		}
	}
	for _, kv := range files {
		pid, path, err := splitInput(kv, "-f", "PID=FILE")
		if err != nil {
			return nil, err
		}
		if _, dup := data[pid]; dup {
			return nil, fmt.Errorf("-f %s: problem %q already has an answer", kv, pid)
		}
		content, err := readInputFile(path)
		if err != nil {
			return nil, fmt.Errorf("-f %s: %w", kv, err)
		}
		data[pid] = map[string]any{"filename": filepath.Base(path), "value": content}
	}
	for k, v := range metaInputs(now) {
		if _, given := data[k]; !given {
			data[k] = v
		}
	}
	return data, nil
}

// randomValue reads one -i @random=NUMBER: the webapp's random inputs
// are floats, and a run file computes with them (get_input("@random")[0]).
func randomValue(kv, value string) (float64, error) {
	f, ok := taskfile.RandomNumber(value)
	if !ok {
		return 0, fmt.Errorf("-i %s: @random holds numbers, as INGInious gives them (-i @random=0.37, once per number)", kv)
	}
	return f, nil
}

// randomGiven says whether -i gave @random.
func randomGiven(values []string) bool {
	return slices.ContainsFunc(values, func(kv string) bool {
		pid, _, _ := strings.Cut(kv, "=")
		pid = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(pid), "[]"))
		return pid == taskfile.RandomKey
	})
}

// drawRandom draws n numbers in [0, 1), as INGInious' webapp draws a
// student's @random for a task with input_random: n.
func drawRandom(n int) []any {
	r := make([]any, n)
	for i := range r {
		r[i] = rand.Float64()
	}
	return r
}

// randomList prints @random's numbers as Python would (a run file's
// get_input("@random")).
func randomList(r []any) string {
	parts := make([]string, len(r))
	for i, v := range r {
		parts[i] = fmt.Sprint(v)
		if f, ok := v.(float64); ok {
			parts[i] = strconv.FormatFloat(f, 'g', -1, 64)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// textValue is the answer an -i value stands for: the text of FILE for
// @FILE, the value less one @ for @@..., else the value itself.
func textValue(kv, value string) (string, error) {
	path, isFile := strings.CutPrefix(value, "@")
	switch {
	case !isFile:
		return value, nil
	case strings.HasPrefix(path, "@"):
		return path, nil
	case path == "":
		return "", fmt.Errorf("-i %s: write @FILE, or @@ for a value that starts with @", kv)
	}
	content, err := readInputFile(path)
	if err != nil {
		return "", fmt.Errorf("-i %s: %w", kv, err)
	}
	// A text answer travels as a string; other bytes are an upload.
	if !utf8.Valid(content) {
		return "", fmt.Errorf("-i %s: %s is not UTF-8 text (send it as a file with -f PID=FILE)", kv, path)
	}
	return string(content), nil
}

// readInputFile reads a file given on the command line, refusing one
// larger than a job can carry before reading it.
func readInputFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Size() > maxInputFile {
		return nil, fmt.Errorf("%s: %d bytes is more than the %d a job can carry", path, info.Size(), maxInputFile)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	return content, nil
}

func splitInput(kv, flag, form string) (pid, value string, err error) {
	pid, value, ok := strings.Cut(kv, "=")
	if !ok || strings.TrimSpace(pid) == "" {
		return "", "", fmt.Errorf("%s %q: write %s", flag, kv, form)
	}
	return strings.TrimSpace(pid), value, nil
}

// metaInputs are the @-keys INGInious' frontend puts in every submission;
// graders read them with getinput (e.g. @lang to choose the feedback
// language).
func metaInputs(now time.Time) map[string]any {
	name := "ingo-cli"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return map[string]any{
		"@username": name,
		"@email":    "",
		"@lang":     "en",
		"@time":     now.Format("2006-01-02 15:04:05.000000"),
		"@attempts": "1",
		"@state":    "",
		// A task without input_random gets an empty list from the
		// webapp; -i @random=NUMBER gives the numbers of one that has.
		taskfile.RandomKey: []any{},
	}
}
