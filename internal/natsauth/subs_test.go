package natsauth_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/testutil"
)

// TestSubscriptionsBounded: the server bounds subscriptions per
// connection, not per user, and a peer may open as many connections as it
// likes with one credential. A review held 440 MB of the embedded
// server's (so the backend's) memory with 40 connections of one frontend's
// credentials that each subscribed 10,000 subjects under their own inbox.
// No ingo component needs more than a few per connection, so every role
// but the backend gets natsauth.MaxSubs, a few hundred at most.
func TestSubscriptionsBounded(t *testing.T) {
	const atMost = 256
	if natsauth.MaxSubs > atMost {
		t.Errorf("natsauth.MaxSubs = %d, want at most %d", natsauth.MaxSubs, atMost)
	}
	n := testutil.StartNATS(t)
	for _, role := range []natsauth.Role{natsauth.RoleFrontend, natsauth.RoleAgent, natsauth.RoleAdmin} {
		c := connect(t, n.URL, testutil.Creds(t, role, "s1"))
		inbox := natsauth.InboxPrefix(role, "s1")
		for i := range atMost + 1 {
			if _, err := c.SubscribeSync(fmt.Sprintf("%s.%d", inbox, i)); err != nil {
				t.Fatalf("%s: subscribe %d: %v", role, i, err)
			}
		}
		_ = c.Flush()
		deadline := time.Now().Add(2 * time.Second)
		refused := false
		for !refused && time.Now().Before(deadline) {
			c.mu.Lock()
			for _, d := range c.denied {
				refused = refused || strings.Contains(d, "maximum subscriptions exceeded")
			}
			c.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
		if !refused {
			t.Errorf("%s: %d subscriptions on one connection admitted, want at most %d", role, atMost+1, atMost)
		}
	}
	// The backend is not bounded (its journal and history consumers).
	b := connect(t, n.URL, testutil.Creds(t, natsauth.RoleBackend, "b"))
	for i := range atMost + 1 {
		if _, err := b.SubscribeSync(fmt.Sprintf("ingo.x.%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if b.Flush(); len(b.denied) > 0 {
		t.Errorf("backend refused: %v", b.denied)
	}
}
