package history_test

import (
	"sync"
	"testing"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/backend/history"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// inFlight is a History whose records never arrive: each stays on its
// way, as in the buffer of a backend killed with SIGKILL.
type inFlight struct {
	*history.Store
	mu    sync.Mutex
	added map[string]bool
}

func (h *inFlight) Add(r *messages.JobRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.added[r.JobID] = true
}

func (h *inFlight) Settled(jobID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.added[jobID]
}

func (h *inFlight) has(jobID string) bool { return !h.Settled(jobID) }

// A record lost on its way to the history when the backend died, after
// its client acked the result, is stored by the next backend from the
// journal (which kept the job for it), once, with its first finish time.
func TestRecordInFlightAtCrashStoredAfterReplay(t *testing.T) {
	n := testutil.StartNATS(t)
	var lossy *inFlight
	p := startBackendWith(t, n, history.Options{}, func(st *history.Store) backend.History {
		lossy = &inFlight{Store: st, added: map[string]bool{}}
		return lossy
	})
	c, a := peer(t, n, "alice", false), peer(t, n, "ag1", true)
	hello(a)
	run(t, c, a, "lost-1", "c1", messages.StatusSuccess) // acked by its client
	testutil.Eventually(t, wait, func() bool { return lossy.has("lost-1") }, "record never handed over")
	p.stop() // what the journal holds is what a crash leaves: the forget waits for the record

	q := startBackend(t, n, history.Options{})
	var rec messages.JobRecord
	testutil.Eventually(t, wait, func() bool {
		h, err := ask(t, n, natsauth.RoleAdmin, "ops", &messages.ClientGetHistory{JobID: "lost-1"})
		if err != nil || len(h.Jobs) != 1 {
			return false
		}
		rec = h.Jobs[0]
		return true
	}, "the record in flight at the crash is not in the history after the restart")
	if rec.ClientID != "alice" || rec.CourseID != "c1" || rec.Agent != "ag1" || rec.Attempts != 1 ||
		rec.Result.Status != messages.StatusSuccess || rec.Grade != 42 || rec.StartedAt == 0 || rec.FinishedAt < rec.StartedAt {
		t.Errorf("record %+v", rec)
	}

	// A third start replays the job again (its client has not acked the
	// resent result): the record is stored again, and still listed once.
	testutil.Eventually(t, wait, func() bool { return q.h.Stats().Written == 1 }, "record not written")
	q.stop()
	r := startBackend(t, n, history.Options{})
	testutil.Eventually(t, wait, func() bool { return r.h.Stats().Written == 1 }, "replayed record not written again")
	h, err := ask(t, n, natsauth.RoleAdmin, "ops", &messages.ClientGetHistory{})
	if err != nil || len(h.Jobs) != 1 || h.Jobs[0].JobID != "lost-1" || h.Jobs[0].FinishedAt != rec.FinishedAt {
		t.Errorf("listing after two replays: %+v, %v; want lost-1 once, finished at %d", h, err, rec.FinishedAt)
	}
}
