package journal

import (
	"fmt"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// A replay whose next message is slow to come is not over: it ended at
// the first wait over 2 s, as if the stream had nothing more, and a
// standby that preloaded the journal while a partition cut the active
// backend off (its first message came after 2 s) took over with an empty
// queue, every waiting, running and unacknowledged job forgotten. Here
// every wait times out at once: the replay must still read every record.
func TestReplayOutlivesASlowStream(t *testing.T) {
	s := testutil.StartNATS(t)
	j := openJournal(t, s, nil)
	const jobs = 300
	var ts []backend.Transition
	for i := range jobs {
		ts = append(ts, &backend.JobQueued{Job: sampleJob(fmt.Sprintf("j%d", i), 0), ClientID: "c", Seq: uint64(i + 1), At: time.Now()})
	}
	appendAll(t, j, ts...)
	j.Close()

	defer func(w time.Duration) { replayIdle = w }(replayIdle)
	replayIdle = time.Nanosecond
	n := 0
	openJournal(t, s, func(backend.Transition) { n++ })
	if n != jobs {
		t.Fatalf("the replay applied %d transitions, want %d", n, jobs)
	}
}
