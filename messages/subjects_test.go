package messages_test

import (
	"strings"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

func TestSubjectNames(t *testing.T) {
	for _, c := range []struct {
		prefix                                                    string
		backendClient, backendAgent, client, agent, store, leader string
	}{
		{"", "ingo.backend.client.c1", "ingo.backend.agent.a1", "ingo.client.c1", "ingo.agent.a1", "INGO_BUNDLES", "INGO_LEADER"},
		{"ingo", "ingo.backend.client.c1", "ingo.backend.agent.a1", "ingo.client.c1", "ingo.agent.a1", "INGO_BUNDLES", "INGO_LEADER"},
		{"staging", "staging.backend.client.c1", "staging.backend.agent.a1", "staging.client.c1", "staging.agent.a1", "STAGING_BUNDLES", "STAGING_LEADER"},
	} {
		s := messages.NewSubjects(c.prefix)
		for _, got := range []struct{ got, want string }{
			{s.BackendClient("c1"), c.backendClient},
			{s.BackendAgent("a1"), c.backendAgent},
			{s.Client("c1"), c.client},
			{s.Agent("a1"), c.agent},
			{s.BundleStream(), c.store},
			{s.LeaderBucket(), c.leader},
			{s.Bundles("c1"), strings.Replace(c.client, ".client.", ".bundle.", 1)},
		} {
			if got.got != got.want {
				t.Errorf("prefix %q: got %q, want %q", c.prefix, got.got, got.want)
			}
		}
	}
}

func TestSubjectSender(t *testing.T) {
	s := messages.NewSubjects("")
	other := messages.NewSubjects("staging")
	long := strings.Repeat("a", messages.MaxIDLength)
	cases := []struct {
		subject string
		id      string // "" when no sender can be read
		kind    messages.SenderKind
	}{
		{"ingo.backend.client.c1", "c1", messages.SenderFrontend},
		{"ingo.backend.admin.ops-1", "ops-1", messages.SenderAdmin},
		{"ingo.backend.agent.a1", "a1", messages.SenderAgent},
		{"ingo.backend.client.0b9a4f8e-3c1d_X", "0b9a4f8e-3c1d_X", messages.SenderFrontend},
		{"ingo.backend.agent." + long, long, messages.SenderAgent},
		{"ingo.backend.agent." + long + "a", "", 0},
		{"ingo.backend.client.", "", 0},
		{"ingo.backend.client", "", 0},
		{"ingo.backend.client.c1.extra", "", 0}, // one token, or one client could speak for a tree
		{"ingo.backend.client.*", "", 0},
		{"ingo.backend.client.>", "", 0},
		{"ingo.backend.agent.a 1", "", 0},
		{"ingo.client.c1", "", 0}, // the backend's own subject to a client
		{"ingo.agent.a1", "", 0},
		{"staging.backend.client.c1", "", 0}, // another installation's
		{"_INBOX.abc", "", 0},
		{"", "", 0},
	}
	for _, c := range cases {
		id, kind, ok := s.Sender(c.subject)
		if ok != (c.id != "") || id != c.id || kind != c.kind {
			t.Errorf("Sender(%q) = %q, %v, %v; want %q, %v", c.subject, id, kind, ok, c.id, c.kind)
		}
	}
	if id, kind, ok := other.Sender("staging.backend.agent.a1"); !ok || id != "a1" || kind != messages.SenderAgent {
		t.Errorf("staging Sender = %q, %v, %v", id, kind, ok)
	}
}

func TestSubjectRoundTrip(t *testing.T) {
	s := messages.NewSubjects("p")
	for _, id := range []string{"c", "agent-01", "0b9a4f8e-3c1d-4e2a-9f6b-7d5c8e1a2b3c"} {
		for _, c := range []struct {
			subject string
			kind    messages.SenderKind
		}{{s.BackendClient(id), messages.SenderFrontend}, {s.BackendAdmin(id), messages.SenderAdmin}, {s.BackendAgent(id), messages.SenderAgent}} {
			if got, kind, ok := s.Sender(c.subject); !ok || got != id || kind != c.kind {
				t.Errorf("Sender(%q) = %q, %v, %v", c.subject, got, kind, ok)
			}
		}
	}
}

func TestValidateID(t *testing.T) {
	cases := []struct {
		id string
		ok bool
	}{
		{"a", true},
		{"0b9a4f8e-3c1d-4e2a-9f6b-7d5c8e1a2b3c", true},
		{"Agent_01", true},
		{strings.Repeat("x", messages.MaxIDLength), true},
		{strings.Repeat("x", messages.MaxIDLength+1), false},
		{"", false},
		{"a.b", false}, // a subject separator
		{"a*", false},
		{">", false},
		{"a b", false},
		{"a\tb", false},
		{"a\x00", false},
		{"é", false},
		{"a/b", false},
		{"a:b", false},
		{"\xff", false},
	}
	for _, c := range cases {
		err := messages.ValidateID(c.id)
		if (err == nil) != c.ok {
			t.Errorf("ValidateID(%q) = %v, want ok=%v", c.id, err, c.ok)
		}
	}
}
