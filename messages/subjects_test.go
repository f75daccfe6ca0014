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
		{"", "ingo.backend.client", "ingo.backend.agent", "ingo.client.c1", "ingo.agent.a1", "ingo-tasks", "INGO_LEADER"},
		{"ingo", "ingo.backend.client", "ingo.backend.agent", "ingo.client.c1", "ingo.agent.a1", "ingo-tasks", "INGO_LEADER"},
		{"staging", "staging.backend.client", "staging.backend.agent", "staging.client.c1", "staging.agent.a1", "staging-tasks", "STAGING_LEADER"},
	} {
		s := messages.NewSubjects(c.prefix)
		for _, got := range []struct{ got, want string }{
			{s.BackendClient(), c.backendClient},
			{s.BackendAgent(), c.backendAgent},
			{s.Client("c1"), c.client},
			{s.Agent("a1"), c.agent},
			{s.TaskBundleStore(), c.store},
			{s.LeaderBucket(), c.leader},
		} {
			if got.got != got.want {
				t.Errorf("prefix %q: got %q, want %q", c.prefix, got.got, got.want)
			}
		}
	}
}

func TestSubjectIDs(t *testing.T) {
	s := messages.NewSubjects("")
	other := messages.NewSubjects("staging")
	cases := []struct {
		subject           string
		clientID, agentID string // "" when the subject is not of that kind
	}{
		{"ingo.client.c1", "c1", ""},
		{"ingo.agent.a1", "", "a1"},
		{"ingo.client.0b9a4f8e-3c1d_X", "0b9a4f8e-3c1d_X", ""},
		{"ingo.agent." + strings.Repeat("a", messages.MaxIDLength), "", strings.Repeat("a", messages.MaxIDLength)},
		{"ingo.agent." + strings.Repeat("a", messages.MaxIDLength+1), "", ""},
		{"ingo.client.", "", ""},
		{"ingo.client", "", ""},
		{"ingo.client.c1.extra", "", ""}, // a second token would let one client read another's subject tree
		{"ingo.client.*", "", ""},
		{"ingo.client.>", "", ""},
		{"ingo.clientc1", "", ""},
		{"ingo.agent.a 1", "", ""},
		{"staging.client.c1", "", ""}, // another installation's client
		{"_INBOX.abc", "", ""},
		{"ingo.backend.client", "", ""},
		{"", "", ""},
	}
	for _, c := range cases {
		id, ok := s.ClientID(c.subject)
		if ok != (c.clientID != "") || id != c.clientID {
			t.Errorf("ClientID(%q) = %q, %v; want %q", c.subject, id, ok, c.clientID)
		}
		id, ok = s.AgentID(c.subject)
		if ok != (c.agentID != "") || id != c.agentID {
			t.Errorf("AgentID(%q) = %q, %v; want %q", c.subject, id, ok, c.agentID)
		}
	}
	if id, ok := other.ClientID("staging.client.c1"); !ok || id != "c1" {
		t.Errorf("staging ClientID = %q, %v", id, ok)
	}
	if _, ok := other.ClientID("ingo.client.c1"); ok {
		t.Error("staging accepted a client of the default installation")
	}
}

func TestSubjectRoundTrip(t *testing.T) {
	s := messages.NewSubjects("p")
	for _, id := range []string{"c", "agent-01", "0b9a4f8e-3c1d-4e2a-9f6b-7d5c8e1a2b3c"} {
		if got, ok := s.ClientID(s.Client(id)); !ok || got != id {
			t.Errorf("ClientID(Client(%q)) = %q, %v", id, got, ok)
		}
		if got, ok := s.AgentID(s.Agent(id)); !ok || got != id {
			t.Errorf("AgentID(Agent(%q)) = %q, %v", id, got, ok)
		}
		if _, ok := s.AgentID(s.Client(id)); ok {
			t.Errorf("AgentID accepted client subject %q", s.Client(id))
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
