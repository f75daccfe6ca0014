package api

import (
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// A job adopted as running after an API restart, whose attempt is then
// lost (its agent dropped, revoked or restarted) and started again on
// another agent, shows the attempt that runs it: in a deployment the API
// kept answering the first agent and attempt 1 for jobs that the second
// agent graded on attempt 2.
func TestAdoptedRunningJobStartedAgain(t *testing.T) {
	t.Parallel()
	st := newStore(1 << 20)
	now := time.Now()
	st.mu.Lock()
	r := st.addLocked("j", now) // as Server.adopt does for a running job
	r.adopted, r.status, r.startedAt, r.agent, r.attempt = true, statusRunning, now, "grader2", 1
	st.mu.Unlock()

	st.adoptedStarted(&messages.BackendJobStarted{JobID: "j", Agent: "grader1", Attempt: 2}, now.Add(time.Second))
	st.mu.Lock()
	agent, attempt := r.agent, r.attempt
	st.mu.Unlock()
	if agent != "grader1" || attempt != 2 {
		t.Errorf("agent %q attempt %d, want grader1 and 2", agent, attempt)
	}

	// A start older than what the job shows (late, or sent twice) changes
	// nothing.
	st.adoptedStarted(&messages.BackendJobStarted{JobID: "j", Agent: "grader2", Attempt: 1}, now.Add(2*time.Second))
	if r.agent != "grader1" || r.attempt != 2 {
		t.Errorf("a stale start moved the job back to %q attempt %d", r.agent, r.attempt)
	}
}
