package api

import "sync"

// maxAbandoned bounds abandonedJobs: more than the ids frontendclient
// remembers to adopt on a retry (4096), so that none it would adopt is
// forgotten here first.
const maxAbandoned = 8192

// abandonedJobs remembers who submitted the jobs whose submission went
// unanswered (a cancelled request, a slow backend). frontendclient keeps
// such an id so that a retry adopts the job if the backend has it; but
// every token shares the API's client, so without this another token's
// submission of the same id would adopt it, and with it the job's result
// and the right to kill it. Only the same owner's retry may.
type abandonedJobs struct {
	mu     sync.Mutex
	owners map[string]string // job id -> owner
	ring   []string          // job ids, oldest at next
	next   int
}

func newAbandonedJobs(n int) *abandonedJobs {
	return &abandonedJobs{owners: make(map[string]string, n), ring: make([]string, n)}
}

// add records that owner's submission of id went unanswered.
func (a *abandonedJobs) add(id, owner string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.owners[id]; ok {
		a.owners[id] = owner
		return
	}
	if old := a.ring[a.next]; old != "" {
		delete(a.owners, old)
	}
	a.ring[a.next] = id
	a.owners[id] = owner
	a.next = (a.next + 1) % len(a.ring)
}

// othersJob says whether id was abandoned by an owner other than owner.
func (a *abandonedJobs) othersJob(id, owner string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	o, ok := a.owners[id]
	return ok && o != owner
}

// adopted forgets id once its owner's retry was accepted; its ring slot
// is reused in turn.
func (a *abandonedJobs) adopted(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.owners, id)
}
