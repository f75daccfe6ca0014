package journal

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestRefusedStoreIsLoggedAndRecovers: when JetStream refuses the
// journal's stores (a full disk: "no space left on device" in the NATS
// server's log, nothing in the backend's), the backend stopped answering
// for the 110 s of its retries with only Debug lines, its metrics and
// /readyz all well. The journal now says at WARN, within seconds, which
// stream refuses and why, and stores the record as soon as the stream
// takes it again.
func TestRefusedStoreIsLoggedAndRecovers(t *testing.T) {
	s := testutil.StartNATS(t)
	logs := &testutil.SyncBuffer{}
	j := openJournalWith(t, s, Options{Log: slog.New(slog.NewTextHandler(logs, nil))}, nil)
	ctx := context.Background()
	cfg := func(maxBytes int64) {
		t.Helper()
		info, err := j.inputs.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c := info.Config
		c.MaxBytes, c.Discard = maxBytes, jetstream.DiscardNew
		js, err := jetstream.New(j.nc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.UpdateStream(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	cfg(64) // every description is larger: JetStream refuses them
	job := sampleJob("refused-1", 0)
	job.InputData["q"] = strings.Repeat("x", 1000)
	n, err := j.Append(&backend.JobQueued{Job: job, ClientID: "c", Seq: 1, At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		return strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), j.subj.JournalInputsStream())
	}, "no warning that JetStream refuses the journal's stores")
	if j.Stored() >= n {
		t.Fatal("stored while the stream refuses it")
	}
	t.Logf("logged: %s", logs.String())
	cfg(-1)
	testutil.Eventually(t, 10*time.Second, func() bool { return j.Stored() >= n }, "not stored once the stream takes it again")
	if err := j.Err(); err != nil {
		t.Fatalf("journal failed: %v", err)
	}
}
