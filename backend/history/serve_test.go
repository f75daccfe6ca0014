package history_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/backend/history"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// Serve returns once the server has its subscriptions: a frontend that
// asks right after a backend started is answered, not told that nobody
// responds (CI once saw "no responders" in TestDeliveredJobFoundAfterRestart).
func TestServeAnswersAtOnce(t *testing.T) {
	n, nc, st := historyOn(t)
	fe := frontend(t, n, "alice")
	req := historyRequest(t)
	for i := range 200 {
		srv, err := st.Serve(nc)
		if err != nil {
			t.Fatal(err)
		}
		_, err = fe.Request(subj.HistoryClient("alice"), req, wait)
		srv.Close()
		if errors.Is(err, nats.ErrNoResponders) {
			t.Fatalf("request %d, sent as Serve returned: %v", i, err)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// NATS lets a requester choose any reply subject, and an answer goes out
// with the answerer's rights, which for the backend include the journal,
// the leader's key and every client's subject. The history answers the
// asker's own inbox only (or an inbox of no identity): asked with a reply
// elsewhere, it says nothing there.
func TestServeAnswersOnlyTheAskersInbox(t *testing.T) {
	n, nc, st := historyOn(t)
	srv, err := st.Serve(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	evil := frontend(t, n, "evil")
	req := historyRequest(t)
	// Observers of a journal subject anybody can name (the layout's
	// before the journal's space), another client's subject, and
	// another frontend's inbox.
	obs, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "observer", Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	victim := frontend(t, n, "victim")
	inbox := natsauth.InboxPrefix(natsauth.RoleFrontend, "victim") + ".x"
	targets := []string{subj.JournalBatch(), subj.Client("victim"), inbox}
	seen := make(chan string, 16)
	for i, to := range targets {
		on := obs
		if i == 2 {
			on = victim
		}
		if _, err := on.Subscribe(to, func(m *nats.Msg) { seen <- m.Subject }); err != nil {
			t.Fatal(err)
		}
		if err := on.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for _, to := range targets {
		if err := evil.PublishRequest(subj.HistoryClient("evil"), to, req); err != nil {
			t.Fatal(err)
		}
	}
	// Its own request is answered; the others were decided before it.
	if _, err := evil.Request(subj.HistoryClient("evil"), req, wait); err != nil {
		t.Fatal(err)
	}
	select {
	case to := <-seen:
		t.Errorf("the history answered on %s, a reply subject the asker chose outside its inbox", to)
	case <-time.After(200 * time.Millisecond):
	}
}

// historyOn is a NATS server and a backend's connection with the job
// history open on it, closed when the test ends.
func historyOn(t *testing.T) (*testutil.NATS, *nats.Conn, *history.Store) {
	t.Helper()
	n := testutil.StartNATS(t)
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "backend", Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	st, err := history.Open(context.Background(), nc, history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return n, nc, st
}

// frontend connects a frontend named name.
func frontend(t *testing.T, n *testutil.NATS, name string) *nats.Conn {
	t.Helper()
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: name, Creds: testutil.Creds(t, natsauth.RoleFrontend, name)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func historyRequest(t *testing.T) []byte {
	t.Helper()
	req, err := messages.Encode(&messages.ClientGetHistory{})
	if err != nil {
		t.Fatal(err)
	}
	return req
}
