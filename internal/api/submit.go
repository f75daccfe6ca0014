package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/jobjson"
	"github.com/ingo-grader/ingo/internal/taskfile"
	"github.com/ingo-grader/ingo/messages"
)

// jobRequest is the JSON of POST /api/v1/jobs (docs/api.md). Pointers tell
// "not given" (task.yaml or the default applies) from a zero value.
type jobRequest struct {
	JobID              string                     `json:"job_id"`
	CourseID           string                     `json:"course_id"`
	TaskID             string                     `json:"task_id"`
	TaskBundle         string                     `json:"task_bundle"`
	EnvironmentType    string                     `json:"environment_type"`
	Environment        string                     `json:"environment"`
	Inputs             map[string]json.RawMessage `json:"inputs"`
	Limits             *messages.Limits           `json:"limits"`
	NetworkGrading     *bool                      `json:"network_grading"`
	Priority           int                        `json:"priority"`
	Debug              messages.DebugMode         `json:"debug"`
	Launcher           string                     `json:"launcher"`
	WaitForEnvironment bool                       `json:"wait_for_environment"`
}

// submission is a parsed request: the JSON, the file parts, the task
// folder extracted from the archive part ("" when there is none).
type submission struct {
	req     jobRequest
	files   map[string]map[string]any
	taskDir string
}

func (s *Server) postJob(w http.ResponseWriter, r *http.Request) {
	sub, cleanup, err := s.parseSubmission(r)
	defer cleanup()
	if err != nil {
		fail(w, err)
		return
	}
	m, err := s.buildJob(r.Context(), sub, time.Now())
	if err != nil {
		fail(w, err)
		return
	}
	if m.Debug == messages.DebugSSH && !s.authorized(r) {
		// As INGInious: SSH into a job's container is for staff.
		fail(w, errf(http.StatusUnauthorized, "unauthorized", "a job with debug \"ssh\" needs the header Authorization: Bearer <admin token>"))
		return
	}
	if known, _ := s.store.has(m.JobID); known {
		fail(w, errf(http.StatusConflict, "duplicate_job", "a job with id "+m.JobID+" exists already; leave job_id out to get a new one"))
		return
	}
	// Registered before the backend hears of it, so a GET right after the
	// 202 finds it; forgotten again if the backend refuses it.
	s.store.add(m.JobID, time.Now())
	s.store.setFollowed(m.JobID) // before any result can reach OnResult
	job, err := s.client.NewJob(r.Context(), frontendclient.JobRequest{ClientNewJob: m})
	if err != nil {
		s.store.forget(m.JobID)
		fail(w, err)
		return
	}
	s.stats.jobsSubmitted.Add(1)
	s.follow(job)
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": m.JobID})
}

// follow copies a job's events into the store until it ends.
func (s *Server) follow(job *frontendclient.Job) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for ev := range job.Events() {
			switch ev.Kind {
			case frontendclient.EventQueued:
				s.store.queued(job.ID())
			case frontendclient.EventStarted:
				s.store.started(ev.Started, time.Now())
			case frontendclient.EventSSH:
				s.store.ssh(ev.SSH)
			case frontendclient.EventDone:
				s.store.done(ev.Done, time.Now())
			}
		}
	}()
}

// parseSubmission reads a JSON or multipart body. cleanup removes the
// extracted task folder; it is never nil.
func (s *Server) parseSubmission(r *http.Request) (sub submission, cleanup func(), err error) {
	cleanup = func() {}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json", "":
		err = decodeJSON(r.Body, &sub.req)
		return sub, cleanup, err
	case "multipart/form-data":
		return s.parseMultipart(r)
	}
	return sub, cleanup, errf(http.StatusUnsupportedMediaType, "unsupported_media_type",
		"send application/json or multipart/form-data, not "+ct)
}

// decodeJSON reads exactly one JSON value, refusing unknown fields, and
// turns decoding errors into messages that name the field.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return errf(http.StatusBadRequest, "invalid_json", "the body holds more than one JSON value")
		}
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return err
	case errors.As(err, &typeErr):
		what := "the body"
		if typeErr.Field != "" {
			what = fmt.Sprintf("field %q", typeErr.Field)
		}
		return errf(http.StatusBadRequest, "invalid_json",
			fmt.Sprintf("%s must be %s, not %s", what, jsonKind(typeErr.Type.Kind().String()), withArticle(typeErr.Value)))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errf(http.StatusBadRequest, "invalid_json", "the body is not valid JSON: "+err.Error())
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return errf(http.StatusBadRequest, "unknown_field", strings.TrimPrefix(err.Error(), "json: ")+"; see docs/api.md for the fields")
	}
	return errf(http.StatusBadRequest, "invalid_json", err.Error())
}

// jsonKind names the JSON a Go kind takes, with its article.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "a list"
	}
	return "a number"
}

func withArticle(jsonValue string) string {
	if jsonValue != "" && strings.ContainsRune("aeiou", rune(jsonValue[0])) {
		return "an " + jsonValue
	}
	return "a " + jsonValue
}

// buildJob turns a submission into the message for the backend: task.yaml
// first (as `ingo submit` reads it), then what the request says.
func (s *Server) buildJob(ctx context.Context, sub submission, now time.Time) (messages.ClientNewJob, error) {
	q := sub.req
	bad := func(code, msg string) (messages.ClientNewJob, error) {
		return messages.ClientNewJob{}, errf(http.StatusBadRequest, code, msg)
	}
	if q.JobID == "" {
		q.JobID = newJobID()
	} else if err := messages.ValidateID(q.JobID); err != nil {
		return bad("invalid_job_id", "job_id: "+err.Error())
	}
	if !q.Debug.Valid() {
		return bad("invalid_field", fmt.Sprintf("debug is %q; use \"\", \"debug\" or \"ssh\"", q.Debug))
	}
	if q.TaskBundle != "" {
		if sub.taskDir != "" {
			return bad("invalid_field", "give a task archive or task_bundle, not both")
		}
		if err := bundle.ValidateDigest(q.TaskBundle); err != nil {
			return bad("invalid_field", "task_bundle: "+err.Error()+"; upload the task with POST /api/v1/tasks to get one")
		}
	}
	if l := q.Limits; l != nil && (l.Time < 0 || l.HardTime < 0 || l.Memory < 0 || l.Processes < 0 || l.Output < 0 || l.Disk < 0) {
		return bad("invalid_field", "limits must not be negative")
	}
	spec := taskfile.Spec{EnvironmentType: taskfile.DefaultEnvironmentType, Environment: taskfile.DefaultEnvironment}
	if sub.taskDir != "" {
		var err error
		if spec, err = taskfile.ReadDir(sub.taskDir); err != nil {
			return bad("bad_task", "the task archive's task.yaml: "+err.Error())
		}
		if q.TaskBundle, err = s.client.UploadTask(ctx, sub.taskDir); err != nil {
			return messages.ClientNewJob{}, errf(http.StatusBadGateway, "upload_failed", "the task could not be stored in NATS: "+err.Error())
		}
	}
	inputs, err := inputData(q.Inputs, sub.files)
	if err != nil {
		return messages.ClientNewJob{}, err
	}
	launcher := q.Launcher
	if launcher == "" {
		launcher = "HTTP API"
	}
	for k, v := range jobjson.MetaInputs("ingo-api", now) {
		if _, given := inputs[k]; !given {
			inputs[k] = v
		}
	}
	params := spec.Parameters
	if l := q.Limits; l != nil {
		mergeLimits(&params.Limits, *l)
	}
	if q.NetworkGrading != nil {
		params.NetworkGrading = *q.NetworkGrading
	}
	return messages.ClientNewJob{
		JobDescription: messages.JobDescription{
			JobID: q.JobID, CourseID: q.CourseID, TaskID: q.TaskID, TaskBundle: q.TaskBundle,
			TaskProblems:          spec.Problems,
			InputData:             inputs,
			EnvironmentType:       firstNonEmpty(q.EnvironmentType, spec.EnvironmentType),
			Environment:           firstNonEmpty(q.Environment, spec.Environment),
			EnvironmentParameters: params,
			Debug:                 q.Debug,
		},
		Priority: q.Priority, Launcher: launcher, WaitForEnvironment: q.WaitForEnvironment,
	}, nil
}

// mergeLimits lets every limit the request gives override task.yaml's.
func mergeLimits(dst *messages.Limits, src messages.Limits) {
	set := func(d *float64, v float64) {
		if v != 0 {
			*d = v
		}
	}
	seti := func(d *int64, v int64) {
		if v != 0 {
			*d = v
		}
	}
	set(&dst.Time, src.Time)
	set(&dst.HardTime, src.HardTime)
	seti(&dst.Memory, src.Memory)
	seti(&dst.Processes, src.Processes)
	seti(&dst.Output, src.Output)
	seti(&dst.Disk, src.Disk)
}

// inputData builds INGInious' inputdata: a string, a list of strings
// (several values of one problem), or a file {"filename", "value": bytes},
// as `ingo submit` and the INGInious webapp send them; keys starting with
// '@' take any JSON value.
func inputData(in map[string]json.RawMessage, files map[string]map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(in)+len(files)+6)
	for pid, raw := range in {
		v, err := inputValue(raw)
		if err != nil && strings.HasPrefix(pid, "@") {
			// @-keys are metadata for graders (and "@fake" for the fake
			// runtime): any JSON value goes through as it is.
			err = json.Unmarshal(raw, &v)
		}
		if err != nil {
			return nil, errf(http.StatusBadRequest, "bad_input", fmt.Sprintf("inputs.%s: %v", pid, err))
		}
		out[pid] = v
	}
	for pid, f := range files {
		if _, dup := out[pid]; dup {
			return nil, errf(http.StatusBadRequest, "bad_input", fmt.Sprintf("problem %q has an answer in inputs and a file part", pid))
		}
		out[pid] = f
	}
	return out, nil
}

func inputValue(raw json.RawMessage) (any, error) {
	const form = `must be a string, a list of strings or {"filename": ..., "content": base64}`
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str, nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil && list != nil {
		out := make([]any, len(list))
		for i, v := range list {
			out[i] = v
		}
		return out, nil
	}
	var file struct {
		Filename *string `json:"filename"`
		Content  *string `json:"content"`
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if dec.Decode(&file) != nil || file.Filename == nil || file.Content == nil {
		return nil, errors.New(form)
	}
	content, err := base64.StdEncoding.DecodeString(*file.Content)
	if err != nil {
		return nil, fmt.Errorf("content is not base64: %w", err)
	}
	return map[string]any{"filename": *file.Filename, "value": content}, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// tempDir makes a directory for one request's files.
func tempDir() (string, func(), error) {
	dir, err := os.MkdirTemp("", "ingo-api-")
	if err != nil {
		return "", func() {}, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}
