package journal

import (
	"testing"
	"time"

	"github.com/ingo-grader/ingo/backend"
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

	forged, _, err := encodeApart(&backend.JobQueued{Job: sampleJob("forged", 0), ClientID: "victim", Seq: 2, At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	evil := testutil.NewReflector(t, s.URL, "evil")
	subj := messages.NewSubjects("")
	evil.Stored(subj.JournalBatch(), appendBatchV1([]batchRecord{{id: "forged", data: forged}}))
	evil.APIAnswer(subj.JournalBatch())
	evil.Missing(subj.JournalBatch()) // a 404, stored empty
	testutil.Eventually(t, wait, func() bool { return streamState(t, j.stream).Msgs >= 4 },
		"the server stored its answers in the journal's stream")

	var replayed []string
	openJournal(t, s, func(tr backend.Transition) { replayed = append(replayed, backend.TransitionJobID(tr)) })
	if len(replayed) != 1 || replayed[0] != "real" {
		t.Fatalf("replayed %v, want [real]", replayed)
	}
}
