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
	// SuffixBackendClient is followed by ".<clientID>": a frontend to the
	// backend. NATS lets only the frontend of that name publish there, so
	// the token is the sender's identity.
	SuffixBackendClient = "backend.client"
	// SuffixBackendAdmin is followed by ".<clientID>": an admin to the
	// backend, which lets it see and kill every job.
	SuffixBackendAdmin = "backend.admin"
	// SuffixBackendAgent is followed by ".<agentID>": an agent to the
	// backend; only the agent of that name may publish there.
	SuffixBackendAgent = "backend.agent"
	// SuffixClient is followed by ".<clientID>": backend to one client.
	SuffixClient = "client"
	// SuffixAgent is followed by ".<agentID>": backend to one agent.
	SuffixAgent = "agent"
)

// JetStream names. Streams, buckets and object stores are per installation,
// so they carry the prefix too (upper-cased where NATS names require it).
const (
	// BundleStreamSuffix names the stream holding task bundles:
	// "<PREFIX>_BUNDLES", the prefix upper-cased. (Before protocol 4 they
	// were in an object store, "<prefix>-tasks", which nothing uses now.)
	BundleStreamSuffix = "BUNDLES"
	// SuffixBundle is followed by ".<clientID>.<digest token>.meta" and
	// ".data": the task bundles a client uploaded, in the bundle stream.
	// NATS lets only that client (and admins, and the backend) publish
	// under its name, so one client cannot damage another's bundles.
	SuffixBundle = "bundle"
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
	// SuffixJournalBatch follows SuffixJournal: the subject of the
	// journal's batches, several jobs' records in one message (two tokens,
	// so that no job id names it).
	SuffixJournalBatch = "batch.v1"
	// JournalInputsStreamSuffix names the stream of the jobs' descriptions
	// that the journal stores apart from its records: "<PREFIX>_JOBINPUTS".
	JournalInputsStreamSuffix = "JOBINPUTS"
	// SuffixJournalInputs is the subject of that stream's messages, each
	// the descriptions of one batch of records. Only the backend writes it.
	SuffixJournalInputs = "jobinputs.v1"
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

// BackendClient is where the frontend with client id id sends to the
// backend ("*" matches every frontend).
func (s Subjects) BackendClient(id string) string {
	return s.Prefix + "." + SuffixBackendClient + "." + id
}

// BackendAdmin is where an admin client with client id id sends to the
// backend ("*" matches every admin client).
func (s Subjects) BackendAdmin(id string) string {
	return s.Prefix + "." + SuffixBackendAdmin + "." + id
}

// BackendAgent is where the agent id sends to the backend ("*" matches
// every agent).
func (s Subjects) BackendAgent(id string) string {
	return s.Prefix + "." + SuffixBackendAgent + "." + id
}

// Sender tells who sent a message the backend received on subject: the
// id in the subject's last token, and whether it came from an agent, an
// admin client or a frontend. ok is false for any other subject.
func (s Subjects) Sender(subject string) (id string, kind SenderKind, ok bool) {
	for _, k := range []struct {
		suffix string
		kind   SenderKind
	}{{SuffixBackendAgent, SenderAgent}, {SuffixBackendClient, SenderFrontend}, {SuffixBackendAdmin, SenderAdmin}} {
		if id, ok := s.idAfter(subject, s.Prefix+"."+k.suffix+"."); ok {
			return id, k.kind, true
		}
	}
	return "", 0, false
}

// SenderKind is the role a backend subject speaks for.
type SenderKind int

// The senders a backend hears.
const (
	SenderFrontend SenderKind = iota + 1
	SenderAdmin
	SenderAgent
)

// Client is where the backend sends to one client.
func (s Subjects) Client(id string) string { return s.Prefix + "." + SuffixClient + "." + id }

// Agent is where the backend sends to one agent.
func (s Subjects) Agent(id string) string { return s.Prefix + "." + SuffixAgent + "." + id }

// BundleStream is the name of the JetStream stream of task bundles.
func (s Subjects) BundleStream() string {
	return strings.ToUpper(s.Prefix) + "_" + BundleStreamSuffix
}

// Bundles is the subject space of the bundles of one client: its bundles'
// subjects are Bundles(clientID) + ".<digest token>.meta" and ".data"
// (package internal/bundle). Bundles("*") is every client's.
func (s Subjects) Bundles(clientID string) string {
	return s.Prefix + "." + SuffixBundle + "." + clientID
}

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

// JournalBatch is the journal subject of the batches of records.
func (s Subjects) JournalBatch() string {
	return s.Prefix + "." + SuffixJournal + "." + SuffixJournalBatch
}

// JournalInputsStream is the name of the JetStream stream of the jobs'
// descriptions, apart from the journal's records.
func (s Subjects) JournalInputsStream() string {
	return strings.ToUpper(s.Prefix) + "_" + JournalInputsStreamSuffix
}

// JournalInputs is the subject of the journal's input messages.
func (s Subjects) JournalInputs() string { return s.Prefix + "." + SuffixJournalInputs }

// JournalAll matches every journal subject of the layouts before
// JournalAllIn.
func (s Subjects) JournalAll() string { return s.Prefix + "." + SuffixJournal + ".>" }

// JournalAllIn, JournalBatchIn and JournalInputsIn are the journal's
// subjects under its space, a random word that only the journal's
// streams' configurations hold (package backend/journal): the server
// stores a JetStream answer on whatever reply subject its requester
// names, and nobody who cannot read those configurations can name one
// there.
func (s Subjects) JournalAllIn(space string) string {
	return s.Prefix + "." + SuffixJournal + "." + space + ".>"
}

// JournalBatchIn: see JournalAllIn.
func (s Subjects) JournalBatchIn(space string) string {
	return s.Prefix + "." + SuffixJournal + "." + space + "." + SuffixJournalBatch
}

// JournalInputsIn: see JournalAllIn.
func (s Subjects) JournalInputsIn(space string) string {
	return s.Prefix + "." + SuffixJournalInputs + "." + space
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

// MaxNameLength bounds, in bytes, each name a job carries: its course,
// task, environment type and environment, its launcher and its
// "@username" input. The backend refuses a job with a longer one: queue
// pages, their cursors and filters, and the job history's summaries all
// carry these names, and a name none of them can carry would make its
// job a queue's or a course's that cannot be listed.
const MaxNameLength = 256

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
