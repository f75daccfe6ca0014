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
	n := testutil.StartNATS(t)
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "backend", Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	st, err := history.Open(context.Background(), nc, history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fe, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "alice", Creds: testutil.Creds(t, natsauth.RoleFrontend, "alice")})
	if err != nil {
		t.Fatal(err)
	}
	defer fe.Close()
	req, err := messages.Encode(&messages.ClientGetHistory{})
	if err != nil {
		t.Fatal(err)
	}
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
	n := testutil.StartNATS(t)
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "backend", Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	st, err := history.Open(context.Background(), nc, history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := st.Serve(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	evil, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "evil", Creds: testutil.Creds(t, natsauth.RoleFrontend, "evil")})
	if err != nil {
		t.Fatal(err)
	}
	defer evil.Close()
	req, err := messages.Encode(&messages.ClientGetHistory{})
	if err != nil {
		t.Fatal(err)
	}
	// Observers of the journal's and another client's subjects, and of
	// another frontend's inbox.
	obs, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "observer", Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	victim, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "victim", Creds: testutil.Creds(t, natsauth.RoleFrontend, "victim")})
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
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
