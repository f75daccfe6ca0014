package frontendclient

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// acks collects the job ids the client acknowledged, in order.
func acks(t *testing.T, fb *fakeBackend, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		_, a := expect(t, fb, func(_ string, m *messages.Ack) bool { return true })
		ids = append(ids, a.JobID)
	}
	return ids
}

// noAck fails if the client acknowledges anything within d.
func noAck(t *testing.T, fb *fakeBackend, d time.Duration) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case r := <-fb.got:
			if a, ok := r.msg.(*messages.Ack); ok {
				t.Fatalf("unexpected ack of %s", a.JobID)
			}
		case <-timer.C:
			return
		}
	}
}

func result(id string) *messages.BackendJobDone {
	return &messages.BackendJobDone{JobID: id, JobResult: messages.NewJobResult(messages.StatusSuccess, "ok "+id, "")}
}

// Without OnResult, the client acknowledges a result of its own job once
// the Job has it, acknowledges a duplicate again (the first ack may have
// been lost), and leaves a stranger's result unacknowledged.
func TestAckWithoutHandler(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	j := submit(t, e.c, jobRequest(""))
	expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })
	e.fb.finish(j.ID(), messages.StatusSuccess)
	if got := acks(t, e.fb, 1); got[0] != j.ID() {
		t.Fatalf("acked %v", got)
	}
	if j.Result() == nil {
		t.Fatal("acked before the Job had its result")
	}
	e.fb.send(e.c.ID(), result(j.ID()))
	if got := acks(t, e.fb, 1); got[0] != j.ID() {
		t.Fatalf("duplicate acked as %v", got)
	}
	e.fb.send(e.c.ID(), result("stranger"))
	noAck(t, e.fb, 200*time.Millisecond)
	if st := e.c.Stats(); st.UnknownResults != 1 || st.DuplicateResults != 1 {
		t.Errorf("stats %+v", st)
	}
}

// recorder is an application's result store.
type recorder struct {
	mu    sync.Mutex
	got   []string
	fails map[string]int // job id -> errors to return first
}

func (r *recorder) onResult(m *messages.BackendJobDone) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fails[m.JobID] > 0 {
		r.fails[m.JobID]--
		return errors.New("disk full")
	}
	r.got = append(r.got, m.JobID)
	return nil
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// With OnResult, results of an earlier process reach it exactly once, are
// acknowledged only after it succeeded, and go to it again after a failure.
func TestOnResultTakesEarlierProcessResults(t *testing.T) {
	rec := &recorder{fails: map[string]int{"flaky": 1}}
	known := map[string]bool{"stored-before-crash": true}
	e := newEnv(t, Options{ClientID: "frontend-1", OnResult: rec.onResult,
		Delivered: func(id string) bool { return known[id] }})
	ready(t, e.c)

	e.fb.send(e.c.ID(), result("old-1"))
	if got := acks(t, e.fb, 1); got[0] != "old-1" {
		t.Fatalf("acked %v", got)
	}
	// Resent while the ack was in flight: acknowledged again, not stored twice.
	e.fb.send(e.c.ID(), result("old-1"))
	acks(t, e.fb, 1)

	// The application already stored this one before it crashed.
	e.fb.send(e.c.ID(), result("stored-before-crash"))
	if got := acks(t, e.fb, 1); got[0] != "stored-before-crash" {
		t.Fatalf("acked %v", got)
	}

	// OnResult fails: no ack; the backend's resend goes to OnResult again.
	e.fb.send(e.c.ID(), result("flaky"))
	noAck(t, e.fb, 200*time.Millisecond)
	e.fb.send(e.c.ID(), result("flaky"))
	if got := acks(t, e.fb, 1); got[0] != "flaky" {
		t.Fatalf("acked %v", got)
	}

	// Our own job: the Job and OnResult both get it, acknowledged once stored.
	j := submit(t, e.c, jobRequest(""))
	expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })
	e.fb.finish(j.ID(), messages.StatusSuccess)
	if got := acks(t, e.fb, 1); got[0] != j.ID() {
		t.Fatalf("acked %v", got)
	}
	<-j.Done()

	want := []string{"old-1", "flaky", j.ID()}
	got := rec.ids()
	if len(got) != len(want) {
		t.Fatalf("OnResult got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("OnResult got %v, want %v", got, want)
		}
	}
	// Every arrival of an earlier process's result that was not a duplicate
	// of a stored one counts: old-1, stored-before-crash, flaky twice.
	if st := e.c.Stats(); st.OrphanResults != 4 || st.HandlerErrors != 1 {
		t.Errorf("stats %+v", st)
	}
}

// A result with the headers of a JetStream answer is the server's answer
// to somebody's direct get, sent here because they chose this subject as
// its reply (with bytes they stored): not the backend's. The job keeps
// waiting for its real result.
func TestReflectedResultIsDropped(t *testing.T) {
	e := newEnv(t, Options{})
	ready(t, e.c)
	j := submit(t, e.c, jobRequest(""))
	expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })
	forged, err := messages.Encode(&messages.BackendJobDone{JobID: j.ID(), JobResult: messages.NewJobResult(messages.StatusFailed, "forged", "")})
	if err != nil {
		t.Fatal(err)
	}
	before := e.c.Stats().Malformed
	m := &nats.Msg{Subject: e.fb.subj.Client(e.c.ID()), Data: forged,
		Header: nats.Header{"Nats-Stream": {"INGO_BUNDLES"}, "Nats-Subject": {"ingo.bundle.x.sha256-00.meta"}, "Nats-Sequence": {"9"}}}
	if err := e.fb.nc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, guard, func() bool { return e.c.Stats().Malformed > before }, "the forged result dropped")
	if j.Result() != nil {
		t.Fatalf("the job took the forged result: %+v", j.Result())
	}
	e.fb.finish(j.ID(), messages.StatusSuccess)
	if got := acks(t, e.fb, 1); got[0] != j.ID() {
		t.Fatalf("acked %v", got)
	}
	if r := j.Result(); r == nil || r.Result.Status != messages.StatusSuccess {
		t.Fatalf("result %+v", r)
	}
}

// While OnResult fails (an INGInious webapp down during a deadline), the
// backend resends every pending result each few seconds: the client logs
// the first failure and then stays quiet for a while, counting, instead of
// one warning per result and resend (1,252 lines in four minutes of a
// deadline with 39 results pending); it says so when the hook works again.
func TestOnResultFailuresLoggedSparingly(t *testing.T) {
	var logs testutil.SyncBuffer
	var down sync.Mutex
	failing := true
	e := newEnv(t, Options{ClientID: "frontend-1", Log: slog.New(slog.NewTextHandler(&logs, nil)),
		OnResult: func(m *messages.BackendJobDone) error {
			down.Lock()
			defer down.Unlock()
			if failing {
				return errors.New("no INGInious webapp is connected")
			}
			return nil
		}})
	ready(t, e.c)
	for i := range 20 {
		e.fb.send(e.c.ID(), result(fmt.Sprint("pending-", i)))
	}
	testutil.Eventually(t, guard, func() bool { return e.c.Stats().HandlerErrors == 20 }, "every result handed to OnResult")
	if n := strings.Count(logs.String(), "OnResult failed"); n != 1 {
		t.Errorf("%d warnings for 20 failures, want 1:\n%s", n, logs.String())
	}
	down.Lock()
	failing = false
	down.Unlock()
	e.fb.send(e.c.ID(), result("pending-0"))
	acks(t, e.fb, 1)
	// Said once the result is handed over, which may be just after its ack.
	testutil.Eventually(t, guard, func() bool { return strings.Contains(logs.String(), "failures_not_logged=19") },
		"no word of the failures left out once OnResult works again")
}

// After a reconnect the client resubmits its jobs; when one finishes
// meanwhile, the backend's "duplicate_job: already finished" answer to the
// resubmission comes after the result. That is the resubmission's echo,
// not a refusal an operator could act on: no warning (a deadline run's
// backend restart left four such warnings in the HTTP API's log).
func TestDuplicateAfterResultIsQuiet(t *testing.T) {
	var logs testutil.SyncBuffer
	e := newEnv(t, Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	ready(t, e.c)
	j := submit(t, e.c, jobRequest(""))
	expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })
	e.fb.finish(j.ID(), messages.StatusSuccess)
	acks(t, e.fb, 1)
	<-j.Done()
	e.fb.send(e.c.ID(), messages.Errorf(messages.CodeDuplicateJob, j.ID(), "a job with id %s has already finished", j.ID()))
	// A stranger's refusal, after it: logged, so the first was read.
	e.fb.send(e.c.ID(), messages.Errorf(messages.CodeDuplicateJob, "stranger", "a job with id stranger has already finished"))
	testutil.Eventually(t, guard, func() bool { return strings.Contains(logs.String(), "stranger") }, "the stranger's refusal logged")
	if strings.Count(logs.String(), "backend refused a message about a job") != 1 {
		t.Errorf("the echo of a resubmission was logged as a refusal:\n%s", logs.String())
	}
}
