package backend

import (
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestStaleAttemptSaysWhy: a late result of an attempt whose job was
// taken back and waits to be sent again was refused with "attempt 1 is
// not current: the job is now at attempt 1", which reads as a
// contradiction in the agent's and the backend's logs (seen after a
// backend restored from a backup). It now says that the job waits.
func TestStaleAttemptSaysWhy(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("c1")
	a := r.agent("a", 1, "docker/default")
	c.submit(newJob("j1", "default", 0))
	j := a.take()
	a.silence() // lost after HeartbeatMisses: j1 waits, nobody else offers docker/default
	next[*messages.BackendJobStarted](c)
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().AgentsLost == 1 }, "the silent agent was never lost")
	a.finish(j, messages.StatusSuccess)
	e := next[*messages.Error](a.peer)
	if e.Code != messages.CodeStaleAttempt || strings.Contains(e.Text, "now at attempt 1") || !strings.Contains(e.Text, "waits") {
		t.Errorf("the late result was refused with %+v", e)
	}
}
