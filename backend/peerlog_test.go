package backend

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// TestPeerFloodIsNotALogFlood: what a peer's messages cause at will is
// counted in full and logged a few lines a minute. Before, each of a
// frontend's one-byte messages wrote a warning: 200,000 of them (0.35 s
// of sending) wrote 36 MB to the backend's log.
func TestPeerFloodIsNotALogFlood(t *testing.T) {
	log, lines := testutil.CountingLogger()
	r := newRigLogging(t, nil, log)
	c := r.client("c1")
	const n = 1000
	for range n {
		if err := c.NC.Publish(c.Target, []byte{0xff}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().Malformed == n }, "the malformed messages were not all counted")
	time.Sleep(50 * time.Millisecond)
	if got := lines.Load(); got > 150 {
		t.Fatalf("%d lines of log for %d malformed messages", got, n)
	}
}

// TestJunkDoesNotHideRefusals: a flood of junk uses its lines of log,
// and a refusal of what a peer may not do (a kill of another frontend's
// job) is still logged after it. Before, both shared 100 lines a minute,
// and the flood hid the refusal.
func TestJunkDoesNotHideRefusals(t *testing.T) {
	var out testutil.SyncBuffer
	r := newRigLogging(t, nil, slog.New(slog.NewTextHandler(&out, nil)))
	victim, evil := r.client("victim"), r.client("evil")
	job := newJob("theirs", "nothere", 0)
	job.WaitForEnvironment = true
	victim.send(job)
	next[*messages.BackendJobQueued](victim)
	for range 300 {
		if err := evil.NC.Publish(evil.Target, []byte{0xff}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, wait, func() bool { return r.b.Stats().Malformed == 300 }, "the junk was not all counted")
	evil.send(&messages.ClientKillJob{JobID: "theirs"})
	testutil.Eventually(t, wait, func() bool { return strings.Contains(out.String(), "refused: a kill of another frontend's job") },
		"the refused kill was not logged after the junk")
}

// TestHealthCheckAnsweredOnTheSendersInboxOnly: a ping with a reply
// subject under another identity's inbox is not answered there (nobody
// has the backend answer somebody else's pending request); under the
// sender's own, it is.
func TestHealthCheckAnsweredOnTheSendersInboxOnly(t *testing.T) {
	r := newRig(t, nil)
	evil := r.client("evil")
	tests := []struct {
		name     string
		role     natsauth.Role
		id       string
		answered bool
	}{
		{"another frontend's inbox", natsauth.RoleFrontend, "victim", false},
		{"an agent's inbox", natsauth.RoleAgent, "a", false},
		{"its own inbox", natsauth.RoleFrontend, "evil", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Listening as the inbox's owner, whose credentials let it.
			nc, err := natsconn.Connect(natsconn.Options{URL: r.nats.URL, Name: tt.id, Creds: testutil.Creds(t, tt.role, tt.id)})
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			reply := natsauth.InboxPrefix(tt.role, tt.id) + ".x"
			sub, err := nc.SubscribeSync(reply)
			if err != nil {
				t.Fatal(err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := evil.NC.PublishMsg(&nats.Msg{Subject: evil.Target, Reply: reply, Data: mustEncode(t, &messages.Ping{})}); err != nil {
				t.Fatal(err)
			}
			_, err = sub.NextMsg(300 * time.Millisecond)
			if got := err == nil; got != tt.answered {
				t.Fatalf("answered: %v, want %v", got, tt.answered)
			}
		})
	}
}

// TestAgentHelloAgainIsNotARegistration: an agent says hello again with
// the same session and the same offer (several pings answered Unknown
// after a backend restart, each asking for one) and is logged as
// registered once; a hello that changes its slots is logged again.
// Before, each hello wrote "agent registered": three per agent after
// every restart of the backend, which read as three agent processes.
func TestAgentHelloAgainIsNotARegistration(t *testing.T) {
	var out testutil.SyncBuffer
	r := newRigLogging(t, nil, slog.New(slog.NewTextHandler(&out, nil)))
	a := r.agent("a1", 2, "docker/default")
	for range 3 {
		a.hello(2, []string{"docker/default"}, nil, 0)
		next[*messages.Ack](a.peer)
	}
	if n := strings.Count(out.String(), `msg="agent registered"`); n != 1 {
		t.Errorf(`"agent registered" logged %d times for one registration and three hellos alike, want 1:\n%s`, n, out.String())
	}
	a.hello(4, []string{"docker/default"}, nil, 0)
	next[*messages.Ack](a.peer)
	if n := strings.Count(out.String(), `msg="agent registered"`) + strings.Count(out.String(), `msg="agent offer changed"`); n != 2 {
		t.Errorf("a hello with more slots was not logged: %d lines\n%s", n, out.String())
	}
}
