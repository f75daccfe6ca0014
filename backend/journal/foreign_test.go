package journal

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/streamspace"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// The server sends a JetStream answer on whatever reply subject its
// requester chose, past the requester's permissions. On the subjects of
// the journal's space only somebody who read the stream's configuration
// (a backend) can have one stored (TestOutsidersCannotHaveAnythingStored);
// should one be, it is not the backend's: a replay skips it, so it
// neither stops the backend for good (the JSON of an API answer) nor
// replays a job nobody submitted (a record stored as bundle metadata and
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
	evil.Stored(j.batches, appendBatchV1([]batchRecord{{id: "forged", data: forged}}))
	evil.APIAnswer(j.batches)
	evil.Missing(j.batches) // a 404, stored empty
	testutil.Eventually(t, wait, func() bool { return streamState(t, j.stream).Msgs >= 4 },
		"the server stored its answers in the journal's stream")

	var replayed []string
	openJournal(t, s, func(tr backend.Transition) { replayed = append(replayed, backend.TransitionJobID(tr)) })
	if len(replayed) != 1 || replayed[0] != "real" {
		t.Fatalf("replayed %v, want [real]", replayed)
	}
}

// TestOutsidersCannotHaveAnythingStored: the subjects anybody can name
// without reading the streams' configurations (those of the layouts
// before the space, or a space guessed) are kept by neither of the
// journal's streams, so no reflection fills them: before the space, any
// frontend could have acknowledgements stored there until the journal
// refused new jobs for everybody, or the inputs' stream, which has no
// bound of its own, filled the disk.
func TestOutsidersCannotHaveAnythingStored(t *testing.T) {
	s := testutil.StartNATS(t)
	j := openJournal(t, s, nil)
	appendAll(t, j, &backend.JobQueued{Job: sampleJob("real", 0), ClientID: "c", Seq: 1, At: time.Now()})
	before, beforeInputs := streamState(t, j.stream).Msgs, streamState(t, j.inputs).Msgs

	evil := testutil.NewReflector(t, s.URL, "evil")
	subj := messages.NewSubjects("")
	targets := []string{subj.JournalBatch(), subj.Journal("job-1"), subj.JournalInputs(),
		subj.JournalBatchIn(streamspace.New()), subj.JournalInputsIn(streamspace.New())}
	for _, to := range targets {
		evil.APIAnswer(to)
		evil.Missing(to)
	}
	// What the server stores, it stores before it answers a request of
	// its own after them: the same reflection on the journal's own
	// subject, which only a backend can name, is the control.
	evil.APIAnswer(j.batches)
	evil.Missing(j.batches)
	testutil.Eventually(t, wait, func() bool { return streamState(t, j.stream).Msgs >= before+2 },
		"the control reflections were not stored")
	if got := streamState(t, j.inputs).Msgs; got != beforeInputs {
		t.Errorf("the inputs' stream holds %d messages, want %d: a reflection was stored", got, beforeInputs)
	}
	if got := streamState(t, j.stream).Msgs; got != before+2 {
		t.Errorf("the journal holds %d messages, want %d", got, before+2)
	}
}

// TestTwoBackendsOpenAtOnce: two backends that open a journal which does
// not exist yet, at the same moment, each make a space; the one refused
// the stream's creation takes the other's, and both store in it.
func TestTwoBackendsOpenAtOnce(t *testing.T) {
	s := testutil.StartNATS(t)
	ctx := context.Background()
	js := testutil.SuperJS(t, s.URL)
	nc := js.Conn()
	// A stream made first, so that the server's files of the account
	// exist: two first streams made at once can meet the server's own
	// race on making them (an error "creating store"), which is not
	// this test's.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "FIRST", Subjects: []string{"first"}}); err != nil {
		t.Fatal(err)
	}
	for round := range 8 {
		prefix := fmt.Sprintf("r%d", round) // streams of their own, none deleted
		var journals [2]*Journal
		var errs [2]error
		var wg sync.WaitGroup
		for i := range journals {
			wg.Go(func() { journals[i], errs[i] = Open(ctx, nc, Options{Prefix: prefix}) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: Open %d: %v", round, i, err)
			}
		}
		if journals[0].batches != journals[1].batches || journals[0].inputSubject != journals[1].inputSubject {
			t.Fatalf("round %d: two spaces: %s and %s", round, journals[0].batches, journals[1].batches)
		}
		for _, j := range journals {
			j.Close()
		}
	}
}
