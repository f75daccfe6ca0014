package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"os"
	"slices"
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
	// spec is the task folder's task.yaml, read by buildJob.
	spec taskfile.Spec
}

// postJob checks everything it can before anything leaves the process:
// the body against its limits as it is read, what the token may ask, and
// the message against the wire format's bounds; then it uploads the task
// and submits.
func (s *Server) postJob(w http.ResponseWriter, r *http.Request) {
	release, err := s.reserveUpload(w, r)
	defer release()
	if err != nil {
		fail(w, err)
		return
	}
	sub, cleanup, err := s.parseSubmission(r)
	defer cleanup()
	if err != nil {
		fail(w, err)
		return
	}
	m, specKnown, err := s.buildJob(r.Context(), &sub, who(r), time.Now())
	if err != nil {
		fail(w, err)
		return
	}
	p := who(r)
	if !p.admin() {
		if err := s.opts.Frontend.check(&m.JobDescription); err != nil {
			fail(w, err)
			return
		}
		if err := s.opts.Frontend.checkPriority(&m); err != nil {
			fail(w, err)
			return
		}
		// A bundle whose task.yaml this process forgot (taskSpecs is
		// bounded) is stored again, as after a restart: run with the
		// default limits instead, a 6 s timeout would hold a slot 90 s.
		if m.TaskBundle != "" && (!s.tasks.has(p.owner(), m.TaskBundle) || !specKnown) {
			fail(w, errUnknownTask)
			return
		}
		// The API is one admin client for every token: the backend counts
		// the token's courses as its name's (fair share, waiting caps,
		// backend.course-weights as "<api.client-id>:<name>/<course>"),
		// so that two frontends' courses of one id stay two courses. An
		// admin token's jobs are the API's own, as before.
		m.Frontend = p.name
	}
	if sub.taskDir != "" {
		m.TaskBundle = placeholderDigest // as long as the real one
	}
	// Tagged before its size is checked: the tag is part of what travels.
	m.Launcher = tagOwner(m.Launcher, p) // history.go: whose job it stays after a restart
	size, err := s.checkWire(&m)
	if err != nil {
		fail(w, err)
		return
	}
	// Checked last, so that a job refused for its token (403) or its size
	// (413) hears so first.
	if sub.taskDir == "" && m.TaskBundle == "" {
		fail(w, errNoTask)
		return
	}
	if sub.taskDir != "" {
		if m.TaskBundle, err = s.client.UploadTask(r.Context(), sub.taskDir); err != nil {
			fail(w, errf(http.StatusBadGateway, "upload_failed", "the task could not be stored in NATS: "+err.Error()))
			return
		}
		s.storedTask(p, m.TaskBundle)
		s.specs.add(p.owner(), m.TaskBundle, sub.spec, specCost(sub.taskDir, sub.spec)) // not kept over the budget: its jobs name the folder
	}
	duplicate := func() {
		fail(w, errf(http.StatusConflict, "duplicate_job", "a job with id "+m.JobID+" exists already; leave job_id out to get a new one"))
	}
	if s.abandoned.othersJob(m.JobID, p.owner()) {
		duplicate()
		return
	}
	// Registered before the backend hears of it, so a GET right after the
	// 202 finds it; forgotten again if the backend refuses it.
	var charge, limit int64
	if !p.admin() {
		charge, limit = max(size, minJobCharge), s.opts.MaxUnfinishedBytes
	}
	rec, held := s.store.claim(m.JobID, p.owner(), m.CourseID, time.Now(), charge, limit)
	switch {
	case rec == nil && held < 0:
		duplicate()
		return
	case rec == nil:
		fail(w, errf(http.StatusTooManyRequests, "queue_full", fmt.Sprintf(
			"this token's name has jobs not finished yet holding %s, and this one (%s) would pass the %s api.frontend-max-unfinished-bytes allows (the backend's job journal is every course's); submit again once some have run",
			formatBytes(held), formatBytes(charge), formatBytes(limit))))
		return
	}
	s.store.setFollowed(m.JobID) // before any result can reach OnResult
	// Not cancelled when the client hangs up: the job is on its way, and
	// its outcome (queued, refused) decides whether its charge stays.
	// Before, a token that hung up right after each body had every job
	// counted as unanswered.
	ctx := context.WithoutCancel(r.Context())
	if submitDeadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, submitDeadline)
		defer cancel()
	}
	job, err := s.client.NewJob(ctx, frontendclient.JobRequest{ClientNewJob: m})
	s.snaps.stale()
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, frontendclient.ErrNoAnswer) {
			err = fmt.Errorf("%w: %w", frontendclient.ErrNoAnswer, err) // submitDeadline's
		}
		if errors.Is(err, frontendclient.ErrNoAnswer) {
			// Unanswered: the backend may have it, and the client
			// would let a retry of the id adopt it. Its charge stays.
			s.store.abandon(rec, time.Now())
			s.abandoned.add(m.JobID, p.owner())
		} else {
			// Refused, or never sent (too large once tagged, the client
			// closing): nothing of it is in the backend.
			s.store.forget(rec)
		}
		fail(w, err)
		return
	}
	s.abandoned.adopted(m.JobID)
	s.stats.jobsSubmitted.Add(1)
	s.follow(job)
	answer := map[string]any{"job_id": m.JobID}
	switch {
	case !specKnown:
		// An admin's job naming a bundle stored elsewhere (the CLI, an
		// earlier API process): its task.yaml is not known here.
		answer["warnings"] = []string{errSpecUnknown}
	case sub.taskDir != "":
		if warnings := taskfile.UnknownAnswers(m.TaskProblems, slices.Collect(maps.Keys(m.InputData))); len(warnings) > 0 {
			answer["warnings"] = warnings // queued anyway: the grader may read inputs no problem shows
		}
	}
	writeJSON(w, http.StatusAccepted, answer)
}

// submitDeadline, when set (tests), bounds the wait for the backend's
// answer to a submission below the client's RequestTimeout: the
// submission then goes unanswered while the backend still gets the job.
var submitDeadline time.Duration

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
		// Ended without a result: the backend refused a resubmission for
		// good (it had lost the job, a backend without its journal, and
		// its queue was full). Its record ends as crash, which frees its
		// charge; left "queued", it held both until the API restarted.
		if res := job.RefusalResult(); res != nil {
			s.store.done(res, time.Now())
		}
	}()
}

// parseSubmission reads a JSON or multipart body. cleanup removes the
// extracted task folder and frees its share of taskDisk; it is never nil.
func (s *Server) parseSubmission(r *http.Request) (sub submission, cleanup func(), err error) {
	cleanup = func() {}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json", "":
		body := limitReader(r.Body, s.jsonLimit(), tooLarge("the JSON body", s.jsonLimit(),
			"that is one job's message with base64 files; send large files as multipart file parts or in the task folder"))
		err = decodeJSON(body, &sub.req, s.admitValues(r, &cleanup))
		return sub, cleanup, err
	case "multipart/form-data":
		return s.parseMultipart(r)
	}
	return sub, cleanup, errf(http.StatusUnsupportedMediaType, "unsupported_media_type",
		"send application/json or multipart/form-data, not "+ct)
}

// errNoTask refuses a job without a task: no run file to run, so it could
// only end as crash (the platform's fault) while the mistake is the
// caller's.
var errNoTask = errf(http.StatusBadRequest, "bad_task",
	"the job has no task: send the task folder as an archive (a multipart \"task\" part, .tar.gz or .zip) "+
		"or give task_bundle (the digest POST /api/v1/tasks answers); without a run file it could only end as crash")

// errUnknownTask refuses a frontend token a task bundle its name did not
// store (taskOwners), in the words of an unknown one: whether another
// course has it is none of its business.
// errSpecUnknown warns an admin whose job names a task bundle stored
// elsewhere than through this API process.
const errSpecUnknown = "task_bundle names a task this API process did not store, so it does not know its task.yaml: " +
	"the job runs with the default environment and limits unless the request gives them; store the task with POST /api/v1/tasks first"

var errUnknownTask = errf(http.StatusNotFound, "unknown_task",
	"task_bundle names no task this token's name stored through this API process: store it with POST /api/v1/tasks (again after a restart of the API; the same folder gives the same digest and stores nothing new)")

// minJobCharge is the least a job counts against
// Options.MaxUnfinishedBytes, so that the bound bounds small jobs' count
// too (each costs the backend's journal and memory some hundreds of bytes
// besides its input).
const minJobCharge = 2 << 10

// placeholderDigest stands for the task bundle's digest while the job is
// checked, before the task is uploaded.
var placeholderDigest = "sha256:" + strings.Repeat("0", 64)

// buildJob turns a submission into the message for the backend: task.yaml
// first (as `ingo submit` reads it), then what the request says. The task
// folder is uploaded later, once the job passed every check.
//
// specKnown is false for a task_bundle whose task.yaml this process does
// not know for p (taskSpecs): the job then has the default environment and the
// agents' default limits, unless the request gives them.
func (s *Server) buildJob(ctx context.Context, sub *submission, p principal, now time.Time) (m messages.ClientNewJob, specKnown bool, err error) {
	q := sub.req
	bad := func(code, msg string) (messages.ClientNewJob, bool, error) {
		return messages.ClientNewJob{}, false, errf(http.StatusBadRequest, code, msg)
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
	specKnown = true
	switch {
	case sub.taskDir != "":
		if spec, err = s.readTaskSpec(ctx, sub.taskDir); err != nil {
			return messages.ClientNewJob{}, false, err
		}
		sub.spec = spec // kept with the bundle once stored
	case q.TaskBundle != "":
		if known, ok := s.specs.get(p.owner(), q.TaskBundle, p.admin()); ok {
			spec = known
		} else {
			specKnown = false
		}
	}
	inputs, err := inputData(q.Inputs, sub.files)
	if err != nil {
		return messages.ClientNewJob{}, false, err
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
	// What could only end as crash is refused as the caller's mistake.
	if sub.taskDir != "" && taskfile.NeedsRunFile(spec) && taskfile.FindRunFile(sub.taskDir) == "" {
		return bad("bad_task", fmt.Sprintf("the task archive has no run file (%s) and its task.yaml no run_cmd: the job could only end as crash; check the task with ingo task check",
			strings.Join(taskfile.RunFiles, ", ")))
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
	}, specKnown, nil
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
