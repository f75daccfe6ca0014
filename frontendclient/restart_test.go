package frontendclient

import (
	"errors"
	"reflect"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// A backend that restarts (and so forgets us) answers our next ping with
// Unknown: the client says hello again and resubmits, and its jobs go on
// waiting for their one result instead of failing.
func TestBackendRestart(t *testing.T) {
	tests := []struct {
		name string
		down bool // the backend is silent for a while before it comes back
	}{
		{name: "restart"},
		{name: "down, then back", down: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			ready(t, e.c)
			j := submit(t, e.c, jobRequest(""))
			expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })

			var during chan *Job
			if tt.down {
				e.fb.set(func(fb *fakeBackend) { fb.mute = true })
				// Jobs submitted now wait in NewJob for the backend.
				during = make(chan *Job, 1)
				go func() {
					j, err := e.c.NewJob(t.Context(), jobRequest("during"))
					if err != nil {
						t.Errorf("NewJob while the backend is down: %v", err)
					}
					during <- j
				}()
				testutil.Eventually(t, guard, func() bool {
					var n int
					e.fb.set(func(fb *fakeBackend) { n = fb.mutedPings })
					return n >= 5
				}, "the client stopped pinging a silent backend")
				if j.Result() != nil || j.Err() != nil {
					t.Fatalf("the job ended while the backend was down: %+v %v", j.Result(), j.Err())
				}
			}
			e.fb.set(func(fb *fakeBackend) {
				fb.mute = false
				fb.restartLocked()
			})

			expect(t, e.fb, func(c string, _ *messages.ClientHello) bool { return c == e.c.ID() })
			expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })
			e.fb.finish(j.ID(), messages.StatusSuccess)
			// Queued by the first backend, queued again by the second.
			if got, want := kinds(events(t, j)), []EventKind{EventQueued, EventQueued, EventDone}; !reflect.DeepEqual(got, want) {
				t.Errorf("events %v, want %v", got, want)
			}
			if tt.down {
				j2 := <-during
				if j2 == nil {
					t.FailNow()
				}
				e.fb.finish(j2.ID(), messages.StatusSuccess)
				wait(t, j2)
				return
			}
			// Pings in flight when it restarted are all answered Unknown;
			// one hello and one resubmission answer them all.
			roundTrip(t, e.c)
			if s := e.c.Stats(); s.Hellos != 2 || s.Resubmissions != 1 {
				t.Errorf("Hellos %d, Resubmissions %d; want 2 and 1", s.Hellos, s.Resubmissions)
			}
		})
	}
}

// NATS restarts on the same port: the client reconnects, says hello again
// and resubmits, and each job gets exactly one result, even one published
// while the client was away.
func TestNATSRestart(t *testing.T) {
	tests := []struct {
		name string
		// when the backend finishes the job
		finishDuringOutage bool
		// a second job submitted during the outage
		submitDuringOutage bool
	}{
		{name: "result after the outage"},
		{name: "result published during the outage", finishDuringOutage: true},
		{name: "job submitted during the outage", submitDuringOutage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			ready(t, e.c)
			j := submit(t, e.c, jobRequest(""))
			expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })
			hellos := e.c.Stats().Hellos

			e.nats.Stop()
			if tt.finishDuringOutage {
				e.fb.finish(j.ID(), messages.StatusSuccess)
			}
			var during chan *Job
			if tt.submitDuringOutage {
				during = make(chan *Job, 1)
				go func() {
					j, err := e.c.NewJob(t.Context(), jobRequest("during-outage"))
					if err != nil {
						t.Errorf("NewJob during the outage: %v", err)
					}
					during <- j
				}()
			}
			e.nats.Start()

			expect(t, e.fb, func(c string, _ *messages.ClientHello) bool { return c == e.c.ID() })
			if !tt.finishDuringOutage {
				// The resubmission shows both ends are back.
				expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })
				e.fb.finish(j.ID(), messages.StatusSuccess)
			}
			evs := events(t, j)
			if evs[0].Kind != EventQueued || evs[len(evs)-1].Kind != EventDone {
				t.Errorf("events %v", kinds(evs))
			}
			if tt.submitDuringOutage {
				j2 := <-during
				if j2 == nil {
					t.FailNow()
				}
				e.fb.finish(j2.ID(), messages.StatusFailed)
				if res := wait(t, j2); res.Result.Status != messages.StatusFailed {
					t.Errorf("second job: %+v", res)
				}
			}
			roundTrip(t, e.c)
			if s := e.c.Stats(); s.Hellos <= hellos {
				t.Errorf("no hello after the reconnect (Hellos %d)", s.Hellos)
			}
			// Whatever came twice, the application saw one result.
			if got := j.Result(); got == nil || got.Result.Status != messages.StatusSuccess {
				t.Errorf("result %+v", got)
			}
		})
	}
}

// A client may start before the backend: what it sends meanwhile bounces
// (NATS' no-responders notices, which are not garbage), and once the
// backend is up the client registers and its job is queued.
func TestBackendStartsLater(t *testing.T) {
	n := testutil.StartNATS(t)
	c, _ := newClient(t, n.URL, Options{})
	during := make(chan *Job, 1)
	go func() {
		j, err := c.NewJob(t.Context(), jobRequest("early"))
		if err != nil {
			t.Errorf("NewJob before the backend: %v", err)
		}
		during <- j
	}()
	testutil.Eventually(t, guard, func() bool { return c.Stats().NoResponders >= 3 }, "no bounced messages counted")
	fb := startFakeBackend(t, n.URL)
	ready(t, c)
	j := <-during
	if j == nil {
		t.FailNow()
	}
	fb.finish(j.ID(), messages.StatusSuccess)
	wait(t, j)
	if s := c.Stats(); s.Malformed != 0 {
		t.Errorf("Malformed = %d: bounced messages taken for garbage", s.Malformed)
	}
}

// Requests sent while no backend listens are lost on the way (NATS bounces
// them). Answers to later pings must not be taken for answers to them:
// KillJob and Queue ask again and get the real verdict.
func TestRequestsWhileNoBackendListens(t *testing.T) {
	tests := []struct {
		name    string
		request func(t *testing.T, e *env, job string) error
		check   func(t *testing.T, e *env, job string)
	}{
		{
			name:    "kill",
			request: func(t *testing.T, e *env, job string) error { return e.c.KillJob(t.Context(), job) },
			check: func(t *testing.T, e *env, job string) {
				expect(t, e.fb, func(_ string, m *messages.ClientKillJob) bool { return m.JobID == job })
			},
		},
		{
			name:    "kill refused",
			request: func(t *testing.T, e *env, _ string) error { return e.c.KillJob(t.Context(), "not-there") },
			check:   func(*testing.T, *env, string) {},
		},
		{
			name: "queue",
			request: func(t *testing.T, e *env, _ string) error {
				q, err := e.c.Queue(t.Context())
				if err == nil && len(q.JobsWaiting) != 1 {
					t.Errorf("snapshot %+v", q)
				}
				return err
			},
			check: func(*testing.T, *env, string) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			ready(t, e.c)
			j := submit(t, e.c, jobRequest(""))
			e.fb.set(func(fb *fakeBackend) {
				fb.queue = &messages.BackendGetQueue{JobsWaiting: []messages.QueueWaitingJob{{JobID: j.ID()}}}
			})
			e.fb.deafen(t)
			bounced := e.c.Stats().NoResponders
			result := make(chan error, 1)
			go func() { result <- tt.request(t, e, j.ID()) }()
			testutil.Eventually(t, guard, func() bool { return e.c.Stats().NoResponders >= bounced+2 }, "nothing bounced")
			e.fb.listen(t)
			err := <-result
			if tt.name == "kill refused" {
				var me *messages.Error
				if !errors.As(err, &me) || me.Code != messages.CodeUnknownJob {
					t.Fatalf("KillJob = %v, want unknown_job", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, e, j.ID())
		})
	}
}
