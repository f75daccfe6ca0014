package history_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend/history"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// superuser is a connection that may do anything, closed with the test.
func superuser(t *testing.T, n *testutil.NATS) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(n.URL, testutil.Superuser(t).NATSOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func superJS(t *testing.T, n *testutil.NATS) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(superuser(t, n))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// storedMessages is what the history stream holds, by subject.
func storedMessages(t *testing.T, n *testutil.NATS) map[string]uint64 {
	t.Helper()
	s, err := superJS(t, n).Stream(context.Background(), subj.HistoryStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subj.HistoryAll()))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects
}

// A job is one stored message, on its listing subject: the whole record
// is read by job id, a listing gets its summary.
func TestOneMessagePerJob(t *testing.T) {
	n := testutil.StartNATS(t)
	startBackend(t, n, history.Options{MaxArchive: 1 << 20})
	c, a := peer(t, n, "alice", false), peer(t, n, "ag1", true)
	hello(a)
	for i := range 3 {
		run(t, c, a, fmt.Sprintf("j%d", i), "c1", messages.StatusSuccess)
	}
	var stored map[string]uint64
	testutil.Eventually(t, wait, func() bool { stored = storedMessages(t, n); return len(stored) >= 3 }, "3 records stored")
	want := map[string]uint64{}
	for i := range 3 {
		want[subj.HistoryList("c1", "success", "alice", fmt.Sprintf("j%d", i))] = 1
	}
	if fmt.Sprint(stored) != fmt.Sprint(want) {
		t.Errorf("stored %v, want %v", stored, want)
	}
	h, err := ask(t, n, natsauth.RoleFrontend, "alice", &messages.ClientGetHistory{JobID: "j1"})
	if err != nil || len(h.Jobs) != 1 || h.Jobs[0].Summary || h.Jobs[0].Result.Text != "text of j1" || len(h.Jobs[0].Archive) != 2000 {
		t.Fatalf("j1 by id: %+v, %v", h, err)
	}
	h, err = ask(t, n, natsauth.RoleFrontend, "alice", &messages.ClientGetHistory{})
	if err != nil || len(h.Jobs) != 3 {
		t.Fatalf("listing: %+v, %v", h, err)
	}
	for _, r := range h.Jobs {
		if !r.Summary || r.Result.Text != "" || r.Archive != nil || r.Grade != 42 {
			t.Errorf("listed %+v, want its summary", r)
		}
	}
}

// Records stored before a job was one message (its whole record on
// history.job.<id>, its summary on its listing subject) are still read,
// by id and in listings, beside the new ones.
func TestRecordsOfTheEarlierLayoutAreRead(t *testing.T) {
	n := testutil.StartNATS(t)
	startBackend(t, n, history.Options{})
	js := superJS(t, n)
	old := messages.JobRecord{JobID: "old-1", ClientID: "alice", CourseID: "c1", TaskID: "t", FinishedAt: 1,
		JobResult: messages.JobResult{Result: messages.Result{Status: messages.StatusFailed, Text: "old text"}, Grade: 7}}
	for subject, rec := range map[string]messages.JobRecord{
		subj.HistoryJob("old-1"):                           old,
		subj.HistoryList("c1", "failed", "alice", "old-1"): old.Summarize(),
	} {
		data, err := messages.Encode(&messages.BackendHistory{Jobs: []messages.JobRecord{rec}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(context.Background(), subject, data); err != nil {
			t.Fatal(err)
		}
	}
	c, a := peer(t, n, "alice", false), peer(t, n, "ag1", true)
	hello(a)
	run(t, c, a, "new-1", "c1", messages.StatusSuccess)

	h, err := ask(t, n, natsauth.RoleFrontend, "alice", &messages.ClientGetHistory{JobID: "old-1"})
	if err != nil || len(h.Jobs) != 1 || h.Jobs[0].Result.Text != "old text" {
		t.Fatalf("old-1 by id: %+v, %v", h, err)
	}
	var ids []string
	testutil.Eventually(t, wait, func() bool {
		h, err := ask(t, n, natsauth.RoleFrontend, "alice", &messages.ClientGetHistory{})
		ids = ids[:0]
		for _, r := range h.Jobs {
			if r.Summary {
				ids = append(ids, r.JobID)
			}
		}
		return err == nil && len(ids) == 2
	}, "both listed")
	if fmt.Sprint(ids) != "[new-1 old-1]" {
		t.Errorf("listed %v, want [new-1 old-1]", ids)
	}
}
