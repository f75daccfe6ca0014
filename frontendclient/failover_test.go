package frontendclient

import (
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// A long-running client goes through a second backend outage (a failover
// to a standby that does not know it): a job submitted during the outage
// reaches the new backend with the hello that answers its first Unknown,
// as it does for a client that saw no outage before.
//
// The pings bounced during the first outage were never answered. Matched
// with the oldest unanswered ping, every later answer was taken for one of
// those, up to RequestTimeout old: the client trusted "everything before
// that ping arrived" for pings up to RequestTimeout late, so a job
// submitted during the next outage was resent only after about
// RequestTimeout, when NewJob had given up on it (the HTTP API's 504, the
// job never queued).
func TestSecondOutageResubmitsAtOnce(t *testing.T) {
	// Long enough that no ping is forgotten as unanswered during the test:
	// the lag, if there is one, lasts.
	e := newEnv(t, Options{RequestTimeout: guard})
	ready(t, e.c)
	roundTrip(t, e.c)

	outage := func(pings int64, during func()) {
		t.Helper()
		e.fb.deafen(t)
		e.fb.set(func(fb *fakeBackend) { fb.restartLocked() })
		if during != nil {
			during()
		}
		bounced := e.c.Stats().NoResponders
		testutil.Eventually(t, guard, func() bool { return e.c.Stats().NoResponders >= bounced+pings },
			"%d messages bounced", pings)
		e.fb.listen(t)
	}

	// The first outage: a dozen pings bounced.
	outage(12, nil)
	expect(t, e.fb, func(c string, _ *messages.ClientHello) bool { return c == e.c.ID() })
	roundTrip(t, e.c)

	// The second: a job submitted while no backend listens.
	const id = "during-second-outage"
	result := make(chan error, 1)
	outage(2, func() {
		go func() {
			_, err := e.c.NewJob(t.Context(), jobRequest(id))
			result <- err
		}()
		testutil.Eventually(t, guard, func() bool {
			e.c.mu.Lock()
			defer e.c.mu.Unlock()
			return e.c.jobs[id] != nil
		}, "the job was sent")
	})
	hello := expectReceived(t, e.fb, func(c string, _ *messages.ClientHello) bool { return c == e.c.ID() })
	job := expectReceived(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == id })
	// The Unknown that made the client say hello again answered a ping
	// sent after the job: the job comes with that hello, not pings later.
	if n := job.pings - hello.pings; n > 1 {
		t.Errorf("the job was resubmitted %d pings after the hello, want it with the hello", n)
	}
	if err := <-result; err != nil {
		t.Fatalf("NewJob: %v", err)
	}
}

// A backend older than the ping tags answers without them: the client
// matches each answer with its oldest unanswered ping, as it did, and
// still resubmits to a backend that restarted.
func TestBackendWithoutPingEcho(t *testing.T) {
	e := newEnv(t, Options{})
	e.fb.set(func(fb *fakeBackend) { fb.noEcho = true })
	ready(t, e.c)
	j := submit(t, e.c, jobRequest(""))
	expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })
	e.fb.set(func(fb *fakeBackend) { fb.restartLocked() })
	expect(t, e.fb, func(c string, _ *messages.ClientHello) bool { return c == e.c.ID() })
	expect(t, e.fb, func(_ string, m *messages.ClientNewJob) bool { return m.JobID == j.ID() })
	e.fb.finish(j.ID(), messages.StatusSuccess)
	wait(t, j)
	roundTrip(t, e.c)
}
