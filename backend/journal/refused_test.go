package journal

import (
	"context"
	"errors"
	"fmt"
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

// TestAppendBoundsUnstoredBytes: while JetStream does not store (here
// it refuses; in the flood that found it, NATS cut the backend's
// connection under 7 MiB submissions), the records appended hold their
// descriptions until stored. 8,192 of them were taken whatever their
// size, and the backend grew to 6 GB of live heap; Append now refuses
// past maxInFlightBytes of them (the backend answers "try again").
func TestAppendBoundsUnstoredBytes(t *testing.T) {
	s := testutil.StartNATS(t)
	j := openJournal(t, s, nil)
	ctx := context.Background()
	info, err := j.inputs.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := info.Config
	c.MaxBytes, c.Discard = 64, jetstream.DiscardNew
	js, err := jetstream.New(j.nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.UpdateStream(ctx, c); err != nil {
		t.Fatal(err)
	}
	const size = 256 << 10
	taken := 0
	for i := range maxInFlight {
		job := sampleJob(fmt.Sprintf("big-%d", i), 0)
		job.InputData["q"] = strings.Repeat("x", size)
		if _, err := j.Append(&backend.JobQueued{Job: job, ClientID: "c", Seq: uint64(i + 1), At: time.Now()}); err != nil {
			if !errors.Is(err, errBehind) {
				t.Fatal(err)
			}
			break
		}
		taken++
	}
	if max := maxInFlightBytes/size + 1; taken > max || taken == 0 {
		t.Errorf("%d records of %d KiB taken while none is stored, want at most %d", taken, size>>10, max)
	}
	// Stored once the stream takes them again, so that Close need not
	// wait out its retries.
	c.MaxBytes = -1
	if _, err := js.UpdateStream(ctx, c); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func() bool { return j.Stored() >= uint64(taken) }, "not stored once the stream takes them")
}
