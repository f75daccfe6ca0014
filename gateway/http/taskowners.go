package api

import (
	"container/list"
	"sync"
)

// maxTaskOwners bounds what taskOwners remembers: about 150 bytes an
// entry, some 15 MB. Past it the least recently used goes, and its token
// uploads that task again.
const maxTaskOwners = 100_000

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
	mu  sync.Mutex
	max int
	lru *list.List // of ownedTask, most recently used first
	idx map[ownedTask]*list.Element
}

type ownedTask struct{ owner, digest string }

func newTaskOwners(max int) *taskOwners {
	return &taskOwners{max: max, lru: list.New(), idx: map[ownedTask]*list.Element{}}
}

// add records that owner stored digest.
func (t *taskOwners) add(owner, digest string) {
	k := ownedTask{owner, digest}
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.idx[k]; ok {
		t.lru.MoveToFront(e)
		return
	}
	t.idx[k] = t.lru.PushFront(k)
	for t.lru.Len() > t.max {
		oldest := t.lru.Back()
		t.lru.Remove(oldest)
		delete(t.idx, oldest.Value.(ownedTask))
	}
}

// has says whether owner stored digest, and keeps it the longer if so.
func (t *taskOwners) has(owner, digest string) bool {
	k := ownedTask{owner, digest}
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.idx[k]
	if ok {
		t.lru.MoveToFront(e)
	}
	return ok
}
