package journal

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// The server sends a JetStream answer on whatever reply subject its
// requester chose, past the requester's permissions: any frontend or
// agent can have one stored in the journal's stream. Such a message is
// not the backend's: a replay skips it, so it neither stops the backend
// for good (the JSON of an API answer) nor replays a job nobody
// submitted (a record a frontend stored as bundle metadata and had
// answered by a direct get).
func TestReplaySkipsWhatTheServerStoredOnSomebodysBehalf(t *testing.T) {
	s := testutil.StartNATS(t)
	j := openJournal(t, s, nil)
	appendAll(t, j, &backend.JobQueued{Job: sampleJob("real", 0), ClientID: "c", Seq: 1, At: time.Now()})

	ctx := context.Background()
	js, err := jetstream.New(j.nc)
	if err != nil {
		t.Fatal(err)
	}
	subj := messages.NewSubjects("")
	bucket := subj.TaskBundleStore()
	if _, err := bundle.EnsureStore(ctx, js, bucket, 1); err != nil {
		t.Fatal(err)
	}
	evil, err := natsconn.Connect(natsconn.Options{URL: s.URL, Name: "evil", Creds: testutil.Creds(t, natsauth.RoleFrontend, "evil")})
	if err != nil {
		t.Fatal(err)
	}
	defer evil.Close()
	forged, _, err := encodeApart(&backend.JobQueued{Job: sampleJob("forged", 0), ClientID: "victim", Seq: 2, At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	ejs, err := jetstream.New(evil)
	if err != nil {
		t.Fatal(err)
	}
	meta := "$O." + bucket + ".M.forged"
	if _, err := ejs.Publish(ctx, meta, appendBatchV1([]batchRecord{{id: "forged", data: forged}})); err != nil {
		t.Fatal(err)
	}
	stream := "OBJ_" + bucket
	for _, req := range [][2]string{
		{"$JS.API.STREAM.INFO." + stream, ""},             // JSON
		{"$JS.API.DIRECT.GET." + stream + "." + meta, ""}, // the stored batch
	} {
		if err := evil.PublishRequest(req[0], subj.JournalBatch(), []byte(req[1])); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, wait, func() bool { return streamState(t, j.stream).Msgs >= 3 },
		"the server stored its answers in the journal's stream")

	var replayed []string
	openJournal(t, s, func(tr backend.Transition) { replayed = append(replayed, backend.TransitionJobID(tr)) })
	if len(replayed) != 1 || replayed[0] != "real" {
		t.Fatalf("replayed %v, want [real]", replayed)
	}
}
