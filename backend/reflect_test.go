package backend

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// A frontend may read the bundle store's metadata with a direct get, and
// the server sends a JetStream answer wherever the requester says, with
// the server's own authority: a frontend stores an AgentHello as
// metadata and asks for it with an agent's backend subject as the reply.
// The backend must not take it for that agent's: no phantom agent is
// registered, and a job for its environment is refused as before.
func TestReflectedJetStreamAnswerIsNoSender(t *testing.T) {
	r := newRig(t, nil)
	evil := testutil.NewReflector(t, r.nats.URL, "evil")
	hello, err := messages.Encode(&messages.AgentHello{ProtocolVersion: messages.ProtocolVersion, FriendlyName: "victim",
		AvailableJobSlots: 4, Session: "forged",
		AvailableEnvironments: map[string]map[string]messages.EnvironmentInfo{"docker": {"default": {}}}})
	if err != nil {
		t.Fatal(err)
	}
	// What the phantom agent would be sent, if the backend took it.
	watch, err := r.nc.SubscribeSync(r.subj.Agent("victim"))
	if err != nil {
		t.Fatal(err)
	}
	before := r.b.Stats().BadSender
	evil.Stored(r.subj.BackendAgent("victim"), hello)
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().BadSender > before },
		"the reflected AgentHello was not refused as a message without a sender")
	c := r.client("web")
	c.send(newJob("after-the-forgery", "default", 0))
	if e := next[*messages.Error](c); e.Code != messages.CodeBadRequest {
		t.Fatalf("a job for the phantom agent's environment: %+v, want refused (no agent offers it)", e)
	}
	if m, err := watch.NextMsg(50 * time.Millisecond); err == nil {
		t.Fatalf("the backend wrote to the phantom agent: %d bytes", len(m.Data))
	} else if err != nats.ErrTimeout {
		t.Fatal(err)
	}
}
