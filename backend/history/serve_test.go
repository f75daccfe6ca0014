package history_test

import (
	"context"
	"errors"
	"testing"

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
