package journal

import (
	"context"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/backend"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestReplaySkipsAClaimOfAttemptZero: a backend before e32a179 let an
// agent's hello claim a waiting job never assigned, and stored the claim
// as a JobAssigned (and JobStarted) of attempt 0, which this journal
// refuses to read: every later start of the backend failed ("malformed
// journal record: JobAssigned needs an agent and an attempt"), and only
// moving the stream away, every job with it, started it again. Such
// records are skipped now; the job waits, as before the claim.
func TestReplaySkipsAClaimOfAttemptZero(t *testing.T) {
	n := testutil.StartNATS(t)
	nc, err := natsconn.Connect(natsconn.Options{URL: n.URL, Name: "old backend", Creds: testutil.Superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	j, err := Open(context.Background(), nc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	job := &messages.ClientNewJob{JobDescription: messages.JobDescription{JobID: "victim", CourseID: "c", TaskID: "t",
		EnvironmentType: "docker", Environment: "python", InputData: map[string]any{"q": "x"},
		EnvironmentParameters: messages.EnvironmentParameters{Limits: messages.Limits{Time: 10, Memory: 64}}}}
	for _, tr := range []backend.Transition{
		&backend.JobQueued{Job: job, Head: backend.HeadOf(job), ClientID: "c1", Seq: 1, At: time.Now()},
		&backend.JobAssigned{JobID: "victim", AgentID: "forger", Attempt: 0, At: time.Now()},
		&backend.JobStarted{JobID: "victim", Attempt: 0},
	} {
		if err := j.Record(tr); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	nc.Close()

	startBackend(t, n, nil)
	c := client(t, n, "c1")
	a := agentPeer(t, n, "a1")
	a.ping()
	a.hello(1, nil, 0)
	if got := a.take(); got.JobID != "victim" || got.Attempt != 1 {
		t.Fatalf("the agent got %s attempt %d, want victim attempt 1", got.JobID, got.Attempt)
	} else {
		a.finish(got)
	}
	if d := c.result(); d.JobID != "victim" {
		t.Fatalf("result of %s", d.JobID)
	}
}
