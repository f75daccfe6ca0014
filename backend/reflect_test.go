package backend

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/bundle"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
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
	ctx := context.Background()
	js, err := jetstream.New(r.nc)
	if err != nil {
		t.Fatal(err)
	}
	bucket := r.subj.TaskBundleStore()
	if _, err := bundle.EnsureStore(ctx, js, bucket, 1); err != nil {
		t.Fatal(err)
	}
	evil, err := natsconn.Connect(natsconn.Options{URL: r.nats.URL, Name: "evil", Creds: testutil.Creds(t, natsauth.RoleFrontend, "evil")})
	if err != nil {
		t.Fatal(err)
	}
	defer evil.Close()
	hello, err := messages.Encode(&messages.AgentHello{ProtocolVersion: messages.ProtocolVersion, FriendlyName: "victim",
		AvailableJobSlots: 4, Session: "forged",
		AvailableEnvironments: map[string]map[string]messages.EnvironmentInfo{"docker": {"default": {}}}})
	if err != nil {
		t.Fatal(err)
	}
	ejs, err := jetstream.New(evil)
	if err != nil {
		t.Fatal(err)
	}
	meta := "$O." + bucket + ".M.forged"
	if _, err := ejs.Publish(ctx, meta, hello); err != nil {
		t.Fatalf("a frontend stores metadata: %v", err)
	}
	// What the phantom agent would be sent, if the backend took it.
	watch, err := r.nc.SubscribeSync(r.subj.Agent("victim"))
	if err != nil {
		t.Fatal(err)
	}
	before := r.b.Stats().BadSender
	if err := evil.PublishRequest("$JS.API.DIRECT.GET.OBJ_"+bucket+"."+meta, r.subj.BackendAgent("victim"), nil); err != nil {
		t.Fatal(err)
	}
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
