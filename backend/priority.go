package backend

import "github.com/ingo-grader/ingo/messages"

// checkPriority refuses a frontend's job more urgent than its client may
// ask for (Config.FrontendMinPriority, FrontendMinPriorities). Priority
// is compared before any course's share, so without this bound one
// frontend sending a low number took every slot until its flood was
// done, whatever the other frontends' courses waited for.
//
// Refused rather than clamped: a course admin who asked for an urgent
// priority and silently got the normal one would see its jobs wait and
// not know why; the refusal names the bound and the setting that raises
// it. INGInious' webapp sends 0 and 1 (replays), which always pass.
func (b *Backend) checkPriority(clientID string, admin bool, m *messages.ClientNewJob) *messages.Error {
	if admin {
		return nil
	}
	bound, key := b.cfg.FrontendMinPriority, "backend.frontend-min-priority"
	if p, ok := b.cfg.minPrio[clientID]; ok {
		bound, key = p, "backend.frontend-min-priorities"
	}
	if m.Priority >= bound {
		return nil
	}
	return messages.Errorf(messages.CodeBadRequest, m.JobID,
		"priority %d is more urgent than client %q may ask for (lower runs first): it may use %d or higher (%s); ask the operator, or submit as an admin",
		m.Priority, clientID, bound, key)
}
