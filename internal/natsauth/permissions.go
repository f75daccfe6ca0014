package natsauth

import (
	"fmt"
	"strings"

	"github.com/nats-io/jwt/v2"

	"github.com/ingo-grader/ingo/messages"
)

// Role is what a NATS user may do in an installation.
type Role string

// The roles of DESIGN.md §8.
const (
	RoleBackend  Role = "backend"
	RoleAgent    Role = "agent"
	RoleFrontend Role = "frontend"
	RoleAdmin    Role = "admin"
)

// Roles lists every role, for flags and errors.
var Roles = []Role{RoleBackend, RoleAgent, RoleFrontend, RoleAdmin}

// ParseRole checks a role's name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q: use backend, agent, frontend or admin", s)
}

// InboxPrefix is where a user's replies arrive; only that user may
// subscribe under it.
func InboxPrefix(role Role, name string) string { return "_INBOX." + string(role) + "." + name }

// OwnInbox reports whether a service may answer a request of name (of
// role) on reply. NATS lets a requester choose any reply subject, and the
// answer goes out with the answerer's rights: the backend's may write the
// journal and the leader's key. So an answer goes under an inbox only,
// and under name's own when the inbox names an identity (one that does
// not is that of a server without ingo's identities, where nobody's
// permissions are at stake). An admin's request names any client id (its
// credentials let it), so it is answered under any admin's inbox; a
// backend's credentials may send as anyone, so a backend's inbox is
// answered too.
func OwnInbox(reply string, role Role, name string) bool {
	rest, ok := strings.CutPrefix(reply, "_INBOX.")
	if !ok {
		return false
	}
	first, _, _ := strings.Cut(rest, ".")
	if _, err := ParseRole(first); err != nil {
		return true
	}
	if first == string(RoleBackend) || (role == RoleAdmin && first == string(RoleAdmin)) {
		return strings.Count(reply, ".") >= 3
	}
	return strings.HasPrefix(reply, InboxPrefix(role, name)+".")
}

// permissions are what the server lets a user of role and name do in the
// installation with subject prefix prefix.
func permissions(role Role, name, prefix string) jwt.Permissions {
	s := messages.NewSubjects(prefix)
	var p jwt.Permissions
	p.Sub.Allow.Add(InboxPrefix(role, name) + ".>")
	switch role {
	case RoleBackend:
		p.Pub.Allow.Add(
			s.Prefix+".>",
			"$JS.API.>", // journal, leader lease, bundle store: the backend owns them
			"$JS.ACK.>",
			"$JS.FC.>",
			"$KV."+s.LeaderBucket()+".>",
			// A health check (`nats req`) gets its Pong on whatever inbox
			// it chose. Not allow_responses: the server would then track
			// the reply subject of every message the backend receives, a
			// third of its dispatch rate (tests/bench).
			"_INBOX.>",
		)
		p.Sub.Allow.Add(s.Prefix + ".>")
	case RoleAgent:
		p.Pub.Allow.Add(s.BackendAgent(name))
		p.Sub.Allow.Add(s.Agent(name))
		// Reading any client's bundle: its metadata, then its chunks by
		// sequence, from the stream's leader, whose answers give a stored
		// message's subject and headers as they are. Nothing else of the
		// stream, and no writing.
		p.Pub.Allow.Add("$JS.API.STREAM.MSG.GET." + s.BundleStream())
	case RoleFrontend, RoleAdmin:
		// The job history is read through requests the backend answers
		// (backend/history), never from its stream: the request subject
		// is the asker's identity, so a frontend gets its own jobs only.
		if role == RoleAdmin {
			p.Pub.Allow.Add(s.BackendAdmin("*"), s.HistoryAdmin("*"))
			p.Sub.Allow.Add(s.Client("*"))
		} else {
			p.Pub.Allow.Add(s.BackendClient(name), s.HistoryClient(name))
			p.Sub.Allow.Add(s.Client(name))
		}
		// Uploading a bundle: publish its chunks and metadata under the
		// client's own name, and nothing else of the stream: no read,
		// not even of its own metadata (a direct get's answer, sent on a
		// reply subject of the asker's choice, is how it could have the
		// server store bytes of its choice on anybody's subjects, the
		// job journal's among them), no stream info (it would list every
		// client's subjects), no consumer, no purge; the stream refuses
		// rollups, so what one client publishes cannot erase or replace
		// another's. An admin may upload as any client id, as it may
		// submit jobs as any.
		space := s.Bundles(name)
		if role == RoleAdmin {
			space = s.Bundles("*")
		}
		p.Pub.Allow.Add(space + ".>")
	}
	return p
}
