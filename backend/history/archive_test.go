package history_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/backend/history"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// MaxArchive is the largest archive a record keeps; 0 keeps none (it
// once meant the default, 512 KiB, so an operator's 0 kept them all).
func TestMaxArchive(t *testing.T) {
	n := testutil.StartNATS(t)
	nc, err := nats.Connect(n.URL, testutil.Superuser(t).NATSOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for i, tc := range []struct {
		max, size int64
		kept      bool
	}{
		{max: 0, size: 1, kept: false},
		{max: 0, size: 2000, kept: false},
		{max: -1, size: 2000, kept: false},
		{max: 1000, size: 2000, kept: false},
		{max: 2000, size: 2000, kept: true},
		{max: history.DefaultMaxArchive, size: 2000, kept: true},
	} {
		t.Run(fmt.Sprintf("max %d, archive %d", tc.max, tc.size), func(t *testing.T) {
			st, err := history.Open(context.Background(), nc, history.Options{MaxArchive: tc.max})
			if err != nil {
				t.Fatal(err)
			}
			id := fmt.Sprintf("archive-%d", i)
			st.Add(&messages.JobRecord{JobID: id, ClientID: "alice", FinishedAt: time.Now().UnixMilli(),
				JobResult: messages.JobResult{Result: messages.Result{Status: messages.StatusSuccess}, Archive: make([]byte, tc.size)}})
			st.Close() // waits for the record to be stored
			if s := st.Stats(); s.Written != 1 {
				t.Fatalf("stats %+v, want the record written", s)
			}
			st, err = history.Open(context.Background(), nc, history.Options{MaxArchive: tc.max})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			r, err := st.Get(context.Background(), history.Viewer{Admin: true}, id)
			if err != nil {
				t.Fatal(err)
			}
			kept, dropped := int64(len(r.Archive)), r.ArchiveDropped
			if tc.kept && (kept != tc.size || dropped != 0) || !tc.kept && (kept != 0 || dropped != tc.size) {
				t.Errorf("archive of %d bytes, bound %d: kept %d, dropped %d", tc.size, tc.max, kept, dropped)
			}
		})
	}
}
