package docker

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/helper/contract"
	"github.com/ingo-grader/ingo/messages"
)

// Texts of results the runtime makes itself.
const (
	textNoResult = "The grading container stopped without a result."
	// textSSHNotAllowed ends a job whose run file called ssh_student in a
	// task without SSH (not of type docker-ssh), in INGInious' words.
	textSSHNotAllowed = "ssh for student requires to allow ssh and internet access in the task environment configuration tab!"
	// textSSHNotOnAgent ends one whose agent has no SSH port range.
	textSSHNotOnAgent = "The task asked for an SSH session for the student, but the agent that ran it does not offer SSH (agent.ssh.port-min and port-max). Please tell an administrator."
	textTimeout       = "Your submission went over the time limit."
	textHardTime      = "Your submission went over the wall-clock time limit."
	// INGInious' agent sends "overflow" with an empty text (its webapp
	// shows its own title for the status); the bridge passes texts on.
	textOverflow = ""
)

// ownResult is a result the runtime makes itself, the grader having given
// none (a limit reached, no readable result). As INGInious' agent (whose
// handle_job_closing starts from inputdata["@state"] and reads the
// grader's feedback only when the container was not killed), it keeps the
// state the job came with: a timeout does not reset what a task keeps in
// @state for the student's next submission.
func ownResult(job *containers.Job, st messages.Status, text string) messages.JobResult {
	prev, _ := job.Desc.InputData["@state"].(string)
	return messages.NewJobResult(st, text, prev)
}

// errNoResult: no result came over the channel.
var errNoResult = errors.New("no result over the channel")

// errTooManyValues: result.json's tests and custom values hold more than
// messages.MaxFreeFormItems values, which the backend would refuse. The
// grader's doing, or the student's whose output it passed on: two bytes
// of JSON make an empty map, and decoding a result of them took the
// agent a hundred times the result's size.
var errTooManyValues = errors.New("result.json: too many tests and custom values")

// jobResult maps the helper's result.json onto the wire result.
func jobResult(data []byte, debug messages.DebugMode) (messages.JobResult, error) {
	// Counted before they are decoded: decoding Result builds the keys
	// of tests and custom values, and their raw values, first.
	if n, err := contract.FreeValues(data, messages.MaxFreeFormItems); err == nil && n > messages.MaxFreeFormItems {
		return messages.JobResult{}, errTooManyValues
	}
	var hr contract.Result
	if err := json.Unmarshal(data, &hr); err != nil {
		return messages.JobResult{}, fmt.Errorf("decode result.json: %w", err)
	}
	st := messages.Status(hr.Result)
	text := hr.Text
	if !st.Valid() {
		text = fmt.Sprintf("The grader gave an unknown result %q. %s", hr.Result, text)
		st = messages.StatusCrash
	}
	res := messages.JobResult{
		Result: messages.Result{Status: st, Text: text},
		Grade:  hr.Grade,
		State:  hr.State,
	}
	if len(hr.Problems) > 0 {
		res.Problems = make(map[string]messages.Result, len(hr.Problems))
		for k, p := range hr.Problems {
			res.Problems[k] = messages.Result{Status: messages.Status(p.Status), Text: p.Text}
		}
	}
	var err error
	if res.Tests, err = contract.DecodeValues(hr.Tests); err != nil {
		return messages.JobResult{}, fmt.Errorf("result.json tests: %w", err)
	}
	if res.Custom, err = contract.DecodeValues(hr.Custom); err != nil {
		return messages.JobResult{}, fmt.Errorf("result.json custom: %w", err)
	}
	if hr.Archive != "" {
		if res.Archive, err = base64.StdEncoding.DecodeString(hr.Archive); err != nil {
			return messages.JobResult{}, fmt.Errorf("result.json archive: %w", err)
		}
	}
	if debug != messages.DebugOff {
		res.Stdout, res.Stderr = hr.Stdout, hr.Stderr
	}
	return res, nil
}
