package api

import (
	"container/list"
	"sync"
)

// maxTasksPerOwner bounds what taskOwners remembers for one token name:
// about 150 bytes an entry, some 1.5 MB a name, and names are only those
// an admin issued tokens for. Past it that name's least recently used
// goes (its token uploads that task again); one name's uploads never
// evict another's.
const maxTasksPerOwner = 10_000

// taskOwners remembers which token names stored which task bundles
// through this process. Every token shares the API's NATS identity, and
// so its space of task bundles: without this, a frontend token that
// learnt another course's digest would have its own code graded with that
// course's task folder, hidden tests included, which NATS forbids a
// frontend of its own identity (docs/security.md). A digest is content's,
// so a token that uploads the same folder is its owner too. Like the
// API's jobs, it is this process's memory: after a restart a frontend
// uploads its task again, which stores nothing new.
type taskOwners struct {
	mu     sync.Mutex
	max    int
	owners map[string]*ownerTasks
}

// ownerTasks are one name's digests, most recently used first.
type ownerTasks struct {
	lru *list.List // of digest strings
	idx map[string]*list.Element
}

func newTaskOwners(maxPerOwner int) *taskOwners {
	return &taskOwners{max: maxPerOwner, owners: map[string]*ownerTasks{}}
}

// storedTask records that p stored the task bundle digest, unless p is
// an admin: admins may name any bundle.
func (s *Server) storedTask(p principal, digest string) {
	if !p.admin() {
		s.tasks.add(p.owner(), digest)
	}
}

// add records that owner stored digest.
func (t *taskOwners) add(owner, digest string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.owners[owner]
	if o == nil {
		o = &ownerTasks{lru: list.New(), idx: map[string]*list.Element{}}
		t.owners[owner] = o
	}
	if e, ok := o.idx[digest]; ok {
		o.lru.MoveToFront(e)
		return
	}
	o.idx[digest] = o.lru.PushFront(digest)
	for o.lru.Len() > t.max {
		oldest := o.lru.Back()
		o.lru.Remove(oldest)
		delete(o.idx, oldest.Value.(string))
	}
}

// has says whether owner stored digest, and keeps it the longer if so.
func (t *taskOwners) has(owner, digest string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.owners[owner]
	if o == nil {
		return false
	}
	e, ok := o.idx[digest]
	if ok {
		o.lru.MoveToFront(e)
	}
	return ok
}
