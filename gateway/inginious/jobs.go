package bridge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/taskfile"
	"github.com/ingo-grader/ingo/messages"
)

// newJob submits an INGInious job to ingo and follows it, sending
// BackendJobStarted and BackendJobSSHDebug to the webapp; the result
// comes through OnResult. sent is called once the job's decoded values
// are no longer held (submitted or refused).
func (b *Bridge) newJob(ctx context.Context, id string, m *clientNewJob, sent func()) {
	sent = sync.OnceFunc(sent)
	defer sent()
	fail := func(text string) { b.refuseJob(id, m.JobID, text) }
	req, err := b.request(m)
	if err != nil {
		fail(err.Error())
		return
	}
	// req holds them now, until it is sent; the client keeps the encoded
	// job. m lives as long as the job: the webapp's decoded input need not.
	m.InputData, m.TaskProblems, m.EnvironmentParameters = nil, nil, nil
	js := &jobState{owner: id, drained: make(chan struct{}), debug: req.Debug != messages.DebugOff}
	b.mu.Lock()
	if b.jobs[m.JobID] != nil {
		// Followed already, for its webapp: a second submission must not
		// take its place, or the first's result would go to whoever sent
		// the second (INGInious' webapp never sends a job id twice).
		b.mu.Unlock()
		fail("A job with this id is already running.")
		return
	}
	b.jobs[m.JobID] = js
	b.mu.Unlock()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	j, err := b.cl.NewJob(sctx, req)
	cancel()
	sent()
	if err != nil {
		b.mu.Lock()
		delete(b.jobs, m.JobID)
		b.mu.Unlock()
		var me *messages.Error
		if errors.As(err, &me) {
			fail(me.Text)
		} else {
			fail("The backend could not queue the job: " + err.Error())
		}
		return
	}
	b.relay(ctx, js, j, m.JobID)
	close(js.drained)
	if res := j.RefusalResult(); res != nil {
		// No result will come through OnResult: hand on this one, or
		// the webapp waits for the job forever and the bridge follows it.
		b.log.Info("INGInious job refused on resubmission", "job", cutName(m.JobID))
		if err := b.OnResult(res); err != nil {
			b.log.Warn("INGInious job refused on resubmission: no webapp to tell", "job", cutName(m.JobID), "err", err)
			b.mu.Lock()
			delete(b.jobs, m.JobID)
			b.mu.Unlock()
		}
	}
}

// relay sends the webapp j's events before its result, until it ends or
// ctx is done.
func (b *Bridge) relay(ctx context.Context, js *jobState, j *frontendclient.Job, jobID string) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-j.Events():
			if !ok {
				return
			}
			var out any
			switch ev.Kind {
			case frontendclient.EventStarted:
				out = backendJobStarted{JobID: jobID, Type: tJobStarted}
			case frontendclient.EventSSH:
				s := ev.SSH
				out = backendJobSSHDebug{JobID: jobID, Host: s.Host, Port: s.Port, User: s.User, Password: s.Password, Type: tJobSSHDebug}
			case frontendclient.EventDone:
				return // OnResult delivers it
			}
			if out != nil {
				js.mu.Lock()
				if !js.done {
					_ = b.send(js.owner, out)
				}
				js.mu.Unlock()
			}
		}
	}
}

// refuseJob answers a job the bridge does not run with a crash result
// saying why.
func (b *Bridge) refuseJob(id, jobID, text string) {
	// Texts may name what the webapp sent, of any length: cut, so that
	// neither the log nor the answer is larger than the request made it.
	text = cutText(text)
	b.log.Info("INGInious job refused", "job", cutName(jobID), "why", text)
	if len(jobID) > messages.MaxIDLength || !utf8.ValidString(jobID) {
		// No webapp makes such an id, nor waits for its answer, which
		// would carry it whole (or which its msgpack could not read).
		return
	}
	_ = b.send(id, crashDone(jobID, text))
}

// owner is the webapp a job's events go to.
func (b *Bridge) owner(jobID, fallback string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if js, ok := b.jobs[jobID]; ok {
		return js.owner
	}
	return fallback
}

// request turns ClientNewJob into an ingo job request.
func (b *Bridge) request(m *clientNewJob) (frontendclient.JobRequest, error) {
	if err := messages.ValidateID(m.JobID); err != nil {
		return frontendclient.JobRequest{}, fmt.Errorf("bad job id: %w", err)
	}
	if err := checkJob(m); err != nil {
		return frontendclient.JobRequest{}, err
	}
	course := m.CourseID
	if course == nil {
		course = m.TasksetID
	}
	d := messages.JobDescription{
		JobID:           m.JobID,
		TaskProblems:    m.TaskProblems,
		InputData:       m.InputData,
		EnvironmentType: m.EnvironmentType,
		Environment:     m.Environment,
	}
	switch v := m.Debug.(type) {
	case bool:
		if v {
			d.Debug = messages.DebugOn
		}
	case string:
		if v == "ssh" {
			d.Debug = messages.DebugSSH
		}
	}
	params, err := taskfile.Parameters(m.EnvironmentParameters)
	if err != nil {
		return frontendclient.JobRequest{}, err
	}
	d.EnvironmentParameters = params
	req := frontendclient.JobRequest{ClientNewJob: messages.ClientNewJob{
		JobDescription: d, Priority: m.Priority, Launcher: m.Launcher}}
	if course != nil || m.TaskID != nil {
		if course == nil || m.TaskID == nil {
			return req, errors.New("a job names a course and a task, or neither")
		}
		dir, err := b.taskDir(*course, *m.TaskID)
		if err != nil {
			return req, err
		}
		req.CourseID, req.TaskID, req.TaskDir = *course, *m.TaskID, dir
		// The course's $common folder, which INGInious shows at
		// /course/common.
		common := filepath.Join(b.opts.TasksDir, *course, "$common")
		if st, err := os.Stat(common); err == nil && st.IsDir() {
			req.CommonDir = common
		}
	}
	return req, nil
}

// checkJob refuses what msgpack carries and ingo's backend does not take:
// a string that is not UTF-8, an integer over int64, a type with no CBOR
// form. The backend drops such a submission as malformed, without a word
// about the job, so that the client sent it again every second and the
// webapp heard after 10 s that no backend was running.
func checkJob(m *clientNewJob) error {
	for name, s := range map[string]*string{"course_id": m.CourseID, "taskset_id": m.TasksetID, "task_id": m.TaskID,
		"environment_type": &m.EnvironmentType, "environment": &m.Environment, "launcher": &m.Launcher} {
		if s != nil && !utf8.ValidString(*s) {
			return fmt.Errorf("%s is not valid UTF-8", name)
		}
	}
	for name, v := range map[string]map[string]any{"inputdata": m.InputData, "task_problems": m.TaskProblems,
		"environment_parameters": m.EnvironmentParameters} {
		if err := checkFree(v, 0); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// checkFree walks a value msgpack decoded (nested at most maxNesting:
// checkDepth saw to it).
func checkFree(v any, depth int) error {
	if depth > maxNesting {
		return errors.New("nested too deep")
	}
	switch v := v.(type) {
	case nil, bool, int8, int16, int32, int64, uint8, uint16, uint32, float32, float64, []byte, time.Time:
	case uint64:
		if v > math.MaxInt64 {
			return fmt.Errorf("the integer %d is larger than %d", v, int64(math.MaxInt64))
		}
	case string:
		if !utf8.ValidString(v) {
			return fmt.Errorf("a string that is not valid UTF-8: %q", cutName(v))
		}
	case []any:
		for _, e := range v {
			if err := checkFree(e, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, e := range v {
			if !utf8.ValidString(k) {
				return fmt.Errorf("a key that is not valid UTF-8: %q", cutName(k))
			}
			if err := checkFree(e, depth+1); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("a value of type %T", v)
	}
	return nil
}

// taskDir finds TasksDir/<course>/<task>, refusing names that would leave
// TasksDir.
func (b *Bridge) taskDir(course, task string) (string, error) {
	for _, n := range []string{course, task} {
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\\\x00") {
			return "", fmt.Errorf("bad course or task name %q", cutName(n))
		}
	}
	if b.opts.TasksDir == "" {
		return "", errors.New("this backend has no task folder (inginious-bridge --tasks-dir)")
	}
	dir := filepath.Join(b.opts.TasksDir, course, task)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		// INGInious' agent text.
		return "", fmt.Errorf("Task unavailable on agent. Please retry later, the agents should synchronize soon. If the error persists, please contact your course administrator. (%s/%s)", cutName(course), cutName(task))
	}
	return dir, nil
}

// jobDone is INGInious' BackendJobDone for an ingo result. debug says the
// webapp asked for debug: stdout and stderr are then strings, as INGInious'
// agent sends them, and None otherwise.
func jobDone(r *messages.BackendJobDone, debug bool) backendJobDone {
	d := backendJobDone{
		JobID:    r.JobID,
		Result:   [2]string{string(r.Result.Status), r.Result.Text},
		Grade:    r.Grade,
		Problems: map[string]any{},
		Tests:    map[string]any{},
		Custom:   map[string]any{},
		State:    r.State,
		Archive:  r.Archive,
		Type:     tJobDone,
	}
	for id, p := range r.Problems {
		d.Problems[id] = problemFeedback(p)
	}
	for k, v := range r.Tests {
		d.Tests[k] = v
	}
	for k, v := range r.Custom {
		d.Custom[k] = v
	}
	// INGInious has no place for what a job used but its custom values,
	// which it keeps with the submission: ingo's usage goes there, unless
	// the grader set that key itself.
	if _, taken := d.Custom[customUsage]; !taken && r.Usage != nil {
		d.Custom[customUsage] = usageCustom(r.Usage)
	}
	// ingo's result drops empty output on the wire, and a result of a job
	// sent through an earlier bridge process comes without its jobState:
	// output that is there proves debug mode too.
	if debug || r.Stdout != "" || r.Stderr != "" {
		out, errs := r.Stdout, r.Stderr
		d.Stdout, d.Stderr = &out, &errs
	}
	return d
}

// problemFeedback is a problem's entry in INGInious' problems map. A
// problem with feedback but no result of its own (set_problem_feedback
// without set_problem_result) is a bare string in INGInious' feedback file,
// and its agent passes it on as it is; the webapp then shows that text with
// the submission's result, where a ("", text) pair would be shown as an
// error (task.js load_feedback_code), red even for a correct answer.
func problemFeedback(p messages.Result) any {
	if p.Status == "" {
		return p.Text
	}
	return [2]string{string(p.Status), p.Text}
}

// crashDone is a crash result for a job ingo never ran.
func crashDone(jobID, text string) backendJobDone {
	return backendJobDone{JobID: jobID, Result: [2]string{string(messages.StatusCrash), text},
		Problems: map[string]any{}, Tests: map[string]any{}, Custom: map[string]any{}, Type: tJobDone}
}

// jobIDOf reads job_id from a frame that failed to decode as a whole.
func jobIDOf(frame []byte) string {
	if checkDepth(frame, maxNesting) != nil {
		return ""
	}
	var m map[string]any
	if unmarshal(frame, &m) != nil {
		return ""
	}
	id, _ := m["job_id"].(string)
	if messages.ValidateID(id) != nil {
		return ""
	}
	return id
}

// queue answers ClientGetQueue with INGInious' tuples.
func (b *Bridge) queue(ctx context.Context, id string) {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	q, err := b.cl.Queue(qctx)
	if err != nil {
		b.queueLog.Warn("queue snapshot failed; the webapp gets an empty queue", "err", err)
		q = &messages.BackendGetQueue{}
	}
	maxTime := func(t float64) int {
		if t <= 0 {
			return -1
		}
		return int(t)
	}
	mine := func(jobID string, isMine bool) bool {
		return isMine && b.owner(jobID, id) == id
	}
	out := backendGetQueue{JobsRunning: [][]any{}, JobsWaiting: [][]any{}, Type: tGetQueue}
	for _, r := range q.JobsRunning {
		out.JobsRunning = append(out.JobsRunning, []any{r.JobID, mine(r.JobID, r.IsMine), r.Agent, r.Info, r.Launcher,
			r.StartedAt / 1000, maxTime(r.MaxTime)})
	}
	for _, w := range q.JobsWaiting {
		out.JobsWaiting = append(out.JobsWaiting, []any{w.JobID, mine(w.JobID, w.IsMine), w.Info, w.Launcher, maxTime(w.MaxTime)})
	}
	_ = b.send(id, out)
}
