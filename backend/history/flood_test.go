package history_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/backend/history"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestOneFrontendCannotHoldEveryReader: a frontend that keeps many
// requests in flight, each a walk of the whole index (a page of another
// frontend's course, of which it has no job), holds a few of the
// history's readers, not all: another frontend's requests are answered
// meanwhile, none "busy". Before, it held every reader and the other's
// requests were refused about half of the time.
func TestOneFrontendCannotHoldEveryReader(t *testing.T) {
	// An admin's flood is bounded too, more loosely: the HTTP API asks
	// the history as one admin for every token, so one frontend token's
	// flood of GET /api/v1/jobs was an admin's, and took all 16 readers.
	for _, role := range []natsauth.Role{natsauth.RoleFrontend, natsauth.RoleAdmin} {
		t.Run(string(role), func(t *testing.T) { floodHistory(t, role) })
	}
}

func floodHistory(t *testing.T, role natsauth.Role) {
	n, nc, st := historyOn(t)
	const records = 20000
	for i := range records {
		client, course := "victim", "algo"
		if i == 0 {
			client, course = "evil", "other"
		}
		st.Add(&messages.JobRecord{JobID: fmt.Sprintf("j%d", i), ClientID: client, CourseID: course, TaskID: "t",
			EnvironmentType: "docker", Environment: "default", JobResult: messages.NewJobResult(messages.StatusSuccess, "", "")})
	}
	testutil.Eventually(t, 30*time.Second, func() bool { return st.Settled(fmt.Sprintf("j%d", records-1)) }, "the records were never stored")
	srv, err := st.Serve(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	walk, err := messages.Encode(&messages.ClientGetHistory{CourseID: "algo", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	evil, evilSubject := frontend(t, n, "evil"), subj.HistoryClient("evil")
	if role == natsauth.RoleAdmin {
		evil, evilSubject = connectAs(t, n, natsauth.RoleAdmin, "evil"), subj.HistoryAdmin("evil")
	}
	victim := frontend(t, n, "victim")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 64 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				m, err := evil.Request(evilSubject, walk, wait)
				if err != nil {
					continue
				}
				if e, ok := decodeAnswer(m.Data).(*messages.Error); ok && e.Code == messages.CodeUnavailable {
					refused.Add(1)
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	testutil.Eventually(t, wait, func() bool { return refused.Load() > 100 }, "the flood was never refused anything")

	busy := 0
	for range 50 {
		m, err := victim.Request(subj.HistoryClient("victim"), walk, wait)
		if err != nil {
			t.Fatal(err)
		}
		switch a := decodeAnswer(m.Data).(type) {
		case *messages.BackendHistory:
			if len(a.Jobs) != 10 {
				t.Fatalf("the victim's page has %d jobs", len(a.Jobs))
			}
		case *messages.Error:
			busy++
		}
	}
	if busy > 0 {
		t.Fatalf("%d of the victim's 50 requests were refused during another's flood", busy)
	}
}

// connectAs connects as the NATS user role/name.
func connectAs(t *testing.T, n *testutil.NATS, role natsauth.Role, name string) *nats.Conn {
	t.Helper()
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: name, Creds: testutil.Creds(t, role, name)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func decodeAnswer(data []byte) messages.Message {
	m, err := messages.Decode(data)
	if err != nil {
		return nil
	}
	return m
}

// TestRefusedRepliesAreNotALogFlood: a request whose reply subject is
// outside its asker's inbox is refused, and logged a few lines a minute
// however many come. Before, each wrote a warning.
func TestRefusedRepliesAreNotALogFlood(t *testing.T) {
	log, lines := testutil.CountingLogger()
	n := testutil.StartNATS(t)
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "backend", Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	st, err := history.Open(context.Background(), nc, history.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	srv, err := st.Serve(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	evil := frontend(t, n, "evil")
	req := historyRequest(t)
	for range 1000 {
		if err := evil.PublishRequest(subj.HistoryClient("evil"), subj.Client("victim"), req); err != nil {
			t.Fatal(err)
		}
	}
	// Its own request is answered after the others were decided.
	if _, err := evil.Request(subj.HistoryClient("evil"), req, wait); err != nil {
		t.Fatal(err)
	}
	if got := lines.Load(); got > 150 {
		t.Fatalf("%d lines of log for 1,000 refused requests", got)
	}
}
