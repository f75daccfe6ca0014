package agent

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// A job with the headers of a JetStream answer is the server's answer to
// somebody's direct get, sent here because they chose the agent's
// subject as its reply (with bytes they stored): not the backend's. The
// agent never runs it; the backend's next job runs.
func TestAgent_ReflectedJobIsDropped(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	forged, err := messages.Encode(newJob("forged", nil))
	if err != nil {
		t.Fatal(err)
	}
	before := e.agent.Stats().Malformed
	m := &nats.Msg{Subject: e.backend.subj.Agent(e.cfg.ID), Data: forged,
		Header: nats.Header{"Nats-Stream": {"INGO_BUNDLES"}, "Nats-Subject": {"ingo.bundle.x.sha256-00.meta"}, "Nats-Sequence": {"9"}}}
	if err := e.backend.nc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() bool { return e.agent.Stats().Malformed > before }, "the forged job dropped")
	e.submit(t, newJob("real", nil))
	if d := e.done(t, "real"); d.JobID != "real" {
		t.Fatalf("done %+v", d)
	}
	if st := e.rt.Stats(); st.Calls != 1 {
		t.Errorf("the runtime ran %d jobs, want 1 (the real one)", st.Calls)
	}
}
