package frontendclient

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

func TestJobLifecycle(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	req := jobRequest("")
	req.Debug = messages.DebugSSH
	req.Priority = 3
	req.Launcher = "Frontend - alice"
	j := submit(t, e.c, req)
	if messages.ValidateID(j.ID()) != nil {
		t.Fatalf("generated job id %q is not valid", j.ID())
	}
	client, got := expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })
	if client != e.c.ID() {
		t.Errorf("job came from %q, want %q", client, e.c.ID())
	}
	want := req.ClientNewJob
	want.JobID = j.ID()
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("backend got %+v\nwant %+v", *got, want)
	}
	if j.Result() != nil {
		t.Error("Result() before the result")
	}
	started := &messages.BackendJobStarted{JobID: j.ID(), Agent: "agent-1", Attempt: 1}
	ssh := &messages.BackendJobSSHDebug{JobID: j.ID(), Host: "h", Port: 2222, User: "worker", Password: "pw"}
	e.fb.send(client, started)
	e.fb.send(client, ssh)
	done := e.fb.finish(j.ID(), messages.StatusSuccess)

	evs := events(t, j)
	if got, want := kinds(evs), []EventKind{EventQueued, EventStarted, EventSSH, EventDone}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if !reflect.DeepEqual(evs[1].Started, started) || !reflect.DeepEqual(evs[2].SSH, ssh) || !reflect.DeepEqual(evs[3].Done, done) {
		t.Errorf("event payloads %+v %+v %+v", evs[1].Started, evs[2].SSH, evs[3].Done)
	}
	if !reflect.DeepEqual(j.Result(), done) || j.Err() != nil {
		t.Errorf("Result() = %+v, Err() = %v", j.Result(), j.Err())
	}
	select {
	case <-j.Done():
	default:
		t.Error("Done() not closed after the result")
	}
}

// Exactly one result reaches the application, whatever the backend sends.
func TestOneResultPerJob(t *testing.T) {
	tests := []struct {
		name                string
		extra               func(e *env, j *Job) // after the job's result
		duplicates, unknown int64
	}{
		{"duplicate result", func(e *env, j *Job) {
			e.fb.send(e.c.ID(), &messages.BackendJobDone{JobID: j.ID(), JobResult: messages.NewJobResult(messages.StatusCrash, "late", "")})
		}, 1, 0},
		{"three more results", func(e *env, j *Job) {
			for range 3 {
				e.fb.send(e.c.ID(), &messages.BackendJobDone{JobID: j.ID()})
			}
		}, 3, 0},
		{"result for a job of nobody here", func(e *env, j *Job) {
			e.fb.send(e.c.ID(), &messages.BackendJobDone{JobID: "stranger"})
		}, 0, 1},
		{"news of a finished job", func(e *env, j *Job) {
			e.fb.send(e.c.ID(), &messages.BackendJobStarted{JobID: j.ID()})
			e.fb.send(e.c.ID(), &messages.BackendJobQueued{JobID: j.ID()})
		}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			ready(t, e.c)
			j := submit(t, e.c, jobRequest(""))
			e.fb.finish(j.ID(), messages.StatusSuccess)
			wait(t, j)
			tt.extra(e, j)
			roundTrip(t, e.c)
			if got := kinds(drain(j)); !reflect.DeepEqual(got, []EventKind{EventQueued, EventDone}) {
				t.Errorf("events %v", got)
			}
			if j.Result().Result.Status != messages.StatusSuccess {
				t.Errorf("result %+v, want the first one", j.Result())
			}
			s := e.c.Stats()
			if s.DuplicateResults != tt.duplicates || s.UnknownResults != tt.unknown {
				t.Errorf("DuplicateResults %d, UnknownResults %d; want %d, %d", s.DuplicateResults, s.UnknownResults, tt.duplicates, tt.unknown)
			}
		})
	}
}

func TestNewJobRefused(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, e *env)
		req     JobRequest
		code    messages.ErrorCode // a refusal, or
		is      error              // a local error
		retry   func(e *env)       // frees the id for a second try
	}{
		{
			name: "id taken by another client",
			prepare: func(t *testing.T, e *env) {
				e.fb.set(func(fb *fakeBackend) { fb.jobs["taken"] = "someone-else" })
			},
			req:   jobRequest("taken"),
			code:  messages.CodeDuplicateJob,
			retry: func(e *env) { e.fb.set(func(fb *fakeBackend) { delete(fb.jobs, "taken") }) },
		},
		{
			name:    "id of a job this client follows",
			prepare: func(t *testing.T, e *env) { submit(t, e.c, jobRequest("mine")) },
			req:     jobRequest("mine"),
			code:    messages.CodeDuplicateJob,
		},
		{
			name: "refused by the backend",
			req:  JobRequest{ClientNewJob: messages.ClientNewJob{JobDescription: messages.JobDescription{JobID: "no-env"}}},
			code: messages.CodeBadRequest,
		},
		{name: "invalid id", req: jobRequest("not a token"), is: ErrInvalid},
		{
			name: "TaskDir and TaskBundle",
			req: func() JobRequest {
				r := jobRequest("")
				r.TaskDir, r.TaskBundle = t.TempDir(), "sha256:00"
				return r
			}(),
			is: ErrInvalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			ready(t, e.c)
			if tt.prepare != nil {
				tt.prepare(t, e)
			}
			j, err := e.c.NewJob(t.Context(), tt.req)
			if j != nil {
				t.Errorf("got a job with the error %v", err)
			}
			if tt.is != nil {
				if !errors.Is(err, tt.is) {
					t.Fatalf("NewJob = %v, want %v", err, tt.is)
				}
				return
			}
			var me *messages.Error
			if !errors.As(err, &me) || me.Code != tt.code || me.JobID != tt.req.JobID {
				t.Fatalf("NewJob = %v, want a %s refusal for job %s", err, tt.code, tt.req.JobID)
			}
			if tt.retry != nil {
				// A refused id is not followed: once free, it can be used.
				tt.retry(e)
				j := submit(t, e.c, tt.req)
				e.fb.finish(j.ID(), messages.StatusFailed)
				wait(t, j)
			}
		})
	}
}

func TestInputTooLarge(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	limit := e.nc.MaxPayload()
	tests := []struct {
		name  string
		bytes int64
		ok    bool
	}{
		{"well under", limit / 2, true},
		{"at the limit", limit, false}, // the envelope takes some bytes too
		{"over", limit + 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := jobRequest("")
			req.InputData = map[string]any{"file": strings.Repeat("x", int(tt.bytes))}
			j, err := e.c.NewJob(t.Context(), req)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				e.fb.finish(j.ID(), messages.StatusSuccess)
				wait(t, j)
				return
			}
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("NewJob = %v, want ErrTooLarge", err)
			}
			for _, hint := range []string{"max_payload", "TaskDir"} {
				if !strings.Contains(err.Error(), hint) {
					t.Errorf("error %q does not mention %s", err, hint)
				}
			}
		})
	}
}

// Events never block the client: a reader that does not read loses
// progress, never the result, and the client goes on working.
func TestEventsNeverBlock(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	j := submit(t, e.c, jobRequest(""))
	const flood = 10 * progressBuffer
	for i := range flood {
		e.fb.send(e.c.ID(), &messages.BackendJobStarted{JobID: j.ID(), Attempt: i + 1})
	}
	e.fb.finish(j.ID(), messages.StatusSuccess)
	wait(t, j)
	evs := drain(j)
	if len(evs) != progressBuffer+1 || evs[len(evs)-1].Kind != EventDone {
		t.Errorf("%d events ending with %v, want %d ending with done", len(evs), evs[len(evs)-1].Kind, progressBuffer+1)
	}
	if got, want := e.c.Stats().DroppedEvents, int64(flood+1-progressBuffer); got != want {
		t.Errorf("DroppedEvents = %d, want %d", got, want)
	}
}

// Without an answer NewJob gives up; submitting the same id again adopts
// the job if the first submission reached the backend after all.
func TestNewJobNoAnswerThenRetry(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	e.fb.set(func(fb *fakeBackend) { fb.mute = true })
	c, _ := newClient(t, e.nats.URL, Options{RequestTimeout: 100 * time.Millisecond})
	_, err := c.NewJob(t.Context(), jobRequest("slow"))
	if !errors.Is(err, ErrNoAnswer) || !strings.Contains(err.Error(), "same job id") {
		t.Fatalf("NewJob = %v, want ErrNoAnswer saying a retry is safe", err)
	}
	// The backend did get it, and had it registered before going mute.
	e.fb.set(func(fb *fakeBackend) { fb.mute = false; fb.jobs["slow"] = c.ID() })
	ctx, cancel := contextWithGuard(t)
	defer cancel()
	var j *Job
	for {
		// RequestTimeout is short here: a retry may time out while the
		// heartbeat has not yet told us the backend is back.
		if j, err = c.NewJob(ctx, jobRequest("slow")); !errors.Is(err, ErrNoAnswer) {
			break
		}
	}
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	e.fb.finish("slow", messages.StatusSuccess)
	if got := kinds(events(t, j)); !reflect.DeepEqual(got, []EventKind{EventQueued, EventDone}) {
		t.Errorf("events %v", got)
	}
}

// An answer lost on the way is made up for by sending the job again once a
// ping shows that the backend hears us.
func TestLostAnswerResent(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	e.fb.set(func(fb *fakeBackend) { fb.dropQueued = 1 })
	j := submit(t, e.c, jobRequest("")) // would time out without a resend
	if s := e.c.Stats(); s.Resubmissions < 1 {
		t.Errorf("Resubmissions = %d", s.Resubmissions)
	}
	e.fb.finish(j.ID(), messages.StatusSuccess)
	if got := kinds(events(t, j)); !reflect.DeepEqual(got, []EventKind{EventQueued, EventDone}) {
		t.Errorf("events %v", got)
	}
}

// TestJobErrIsSetWhenEventsClose: a reader that ranges over Events and
// then asks Err must see why the job ended. finish closed Events before
// Done, and Err reads Done without waiting: a reader woken by the first
// close, on another core, could find Err nil and take a refused job for
// one still running (the HTTP API then kept it "queued" forever).
func TestJobErrIsSetWhenEventsClose(t *testing.T) {
	refusal := &messages.Error{Code: messages.CodeQueueFull, Text: "full"}
	for i := range 5000 {
		j := newJob("race", nil)
		got := make(chan error, 1)
		go func() {
			for {
				// Spin rather than block: a parked reader would only run
				// once finish is over, and never see the window.
				select {
				case _, ok := <-j.events:
					if !ok {
						got <- j.Err()
						return
					}
				default:
				}
			}
		}()
		j.finish(nil, refusal)
		if err := <-got; err == nil {
			t.Fatalf("run %d: Events closed but Err is nil", i)
		}
	}
}
