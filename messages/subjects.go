package messages

import (
	"fmt"
	"strings"
)

// DefaultPrefix is the first token of every ingo subject unless configured
// otherwise, so that several ingo installations can share one NATS account.
const DefaultPrefix = "ingo"

// Subject suffixes, appended to the prefix. They are the public contract of
// DESIGN.md §3: other programs subscribe and publish on them.
const (
	// SuffixBackendClient receives every message from clients to the backend.
	SuffixBackendClient = "backend.client"
	// SuffixBackendAgent receives every message from agents to the backend.
	SuffixBackendAgent = "backend.agent"
	// SuffixClient is followed by ".<clientID>": backend to one client.
	SuffixClient = "client"
	// SuffixAgent is followed by ".<agentID>": backend to one agent.
	SuffixAgent = "agent"
)

// JetStream names. Streams, buckets and object stores are per installation,
// so they carry the prefix too (upper-cased where NATS names require it).
const (
	// TaskBundleStoreSuffix names the object store holding task bundles,
	// addressed by content hash: "<prefix>-tasks".
	TaskBundleStoreSuffix = "tasks"
	// JournalStreamSuffix names the stream of the backend's job journal:
	// "<PREFIX>_JOBS", the prefix upper-cased.
	JournalStreamSuffix = "JOBS"
	// LeaderBucketSuffix names the key-value bucket holding the lease of
	// the active backend (package backend/leader): "<PREFIX>_LEADER", the
	// prefix upper-cased.
	LeaderBucketSuffix = "LEADER"
	// SuffixJournal is followed by ".<jobID>": the journal subject of one
	// job, in the journal stream. Only the backend writes it.
	SuffixJournal = "journal"
)

// Subjects builds the subjects of one installation.
type Subjects struct{ Prefix string }

// NewSubjects returns the subjects under prefix ("" means DefaultPrefix).
func NewSubjects(prefix string) Subjects {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return Subjects{Prefix: prefix}
}

// BackendClient is where clients send to the backend.
func (s Subjects) BackendClient() string { return s.Prefix + "." + SuffixBackendClient }

// BackendAgent is where agents send to the backend.
func (s Subjects) BackendAgent() string { return s.Prefix + "." + SuffixBackendAgent }

// Client is where the backend sends to one client.
func (s Subjects) Client(id string) string { return s.Prefix + "." + SuffixClient + "." + id }

// Agent is where the backend sends to one agent.
func (s Subjects) Agent(id string) string { return s.Prefix + "." + SuffixAgent + "." + id }

// TaskBundleStore is the name of the JetStream object store for task bundles.
func (s Subjects) TaskBundleStore() string { return s.Prefix + "-" + TaskBundleStoreSuffix }

// JournalStream is the name of the JetStream stream of the job journal.
func (s Subjects) JournalStream() string {
	return strings.ToUpper(s.Prefix) + "_" + JournalStreamSuffix
}

// LeaderBucket is the name of the JetStream key-value bucket that elects
// the active backend.
func (s Subjects) LeaderBucket() string {
	return strings.ToUpper(s.Prefix) + "_" + LeaderBucketSuffix
}

// Journal is the journal subject of one job.
func (s Subjects) Journal(jobID string) string { return s.Prefix + "." + SuffixJournal + "." + jobID }

// JournalAll matches every job's journal subject.
func (s Subjects) JournalAll() string { return s.Prefix + "." + SuffixJournal + ".>" }

// ClientID extracts the client id from a reply subject, or returns false if
// the subject is not a client subject of this installation.
func (s Subjects) ClientID(subject string) (string, bool) {
	return s.idAfter(subject, s.Prefix+"."+SuffixClient+".")
}

// AgentID extracts the agent id from a reply subject, or returns false.
func (s Subjects) AgentID(subject string) (string, bool) {
	return s.idAfter(subject, s.Prefix+"."+SuffixAgent+".")
}

func (s Subjects) idAfter(subject, head string) (string, bool) {
	id, ok := strings.CutPrefix(subject, head)
	if !ok || ValidateID(id) != nil {
		return "", false
	}
	return id, true
}

// MaxIDLength bounds client, agent and job ids.
const MaxIDLength = 128

// ValidateID checks that id can be one NATS subject token: non-empty,
// bounded, and made of letters, digits, '-' and '_' only.
func ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("empty id")
	}
	if len(id) > MaxIDLength {
		return fmt.Errorf("id of %d bytes is longer than %d", len(id), MaxIDLength)
	}
	for _, r := range id {
		ok := r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return fmt.Errorf("id %q: only letters, digits, '-' and '_' are allowed", id)
		}
	}
	return nil
}
