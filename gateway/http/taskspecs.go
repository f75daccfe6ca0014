package api

import (
	"container/list"
	"os"
	"path/filepath"
	"sync"

	"github.com/ingo-grader/ingo/internal/taskfile"
)

// maxSpecBytesPerOwner bounds what taskSpecs keeps for one token name:
// each entry counts its task.yaml's size (at most taskfile.MaxBytes) and
// specOverhead; a course's task files are a few KiB each, so this holds
// thousands. Names are only those an admin issued tokens for.
const (
	maxSpecBytesPerOwner = 8 << 20
	specOverhead         = 512
)

// taskSpecs remembers the task.yaml (the environment, limits, network and
// problems) of each task bundle stored through this process, by the token
// name that stored it and digest, so that a job naming a task_bundle runs
// as one with the folder does: the backend and the agents never read
// task.yaml, and without it such a job ran with the agents' default
// limits (a task's 6 s timeout became 90 s of a slot) and the default
// environment. Like taskOwners, it is this process's memory, each name's
// least recently used first out past maxSpecBytesPerOwner: one name's
// uploads never evict another's (one budget for all let a token's 33
// uploads of 1 MiB push every other token's tasks out, and their jobs
// then got 404).
type taskSpecs struct {
	mu     sync.Mutex
	max    int64 // per owner
	owners map[string]*ownerSpecs
}

// ownerSpecs are one name's specs, most recently used first.
type ownerSpecs struct {
	used int64
	lru  *list.List // of *specEntry
	idx  map[string]*list.Element
}

type specEntry struct {
	digest string
	spec   taskfile.Spec
	cost   int64
}

func newTaskSpecs(maxBytesPerOwner int64) *taskSpecs {
	return &taskSpecs{max: maxBytesPerOwner, owners: map[string]*ownerSpecs{}}
}

// specCost is what the spec of the task folder dir counts: its
// task.yaml's size, which bounds what Parse made of it.
func specCost(dir string) int64 {
	cost := int64(specOverhead)
	if fi, err := os.Stat(filepath.Join(dir, "task.yaml")); err == nil {
		cost += fi.Size()
	}
	return cost
}

// add records the spec of the bundle digest that owner stored.
func (t *taskSpecs) add(owner, digest string, spec taskfile.Spec, cost int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.owners[owner]
	if o == nil {
		o = &ownerSpecs{lru: list.New(), idx: map[string]*list.Element{}}
		t.owners[owner] = o
	}
	if e, ok := o.idx[digest]; ok {
		o.lru.MoveToFront(e)
		return
	}
	o.idx[digest] = o.lru.PushFront(&specEntry{digest: digest, spec: spec, cost: cost})
	o.used += cost
	for o.used > t.max && o.lru.Len() > 1 {
		e := o.lru.Remove(o.lru.Back()).(*specEntry)
		delete(o.idx, e.digest)
		o.used -= e.cost
	}
}

// get is the spec of the bundle digest as owner stored it, or, for an
// admin (anyOwner: admins may name any bundle), as anyone did.
func (t *taskSpecs) get(owner, digest string, anyOwner bool) (taskfile.Spec, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if o := t.owners[owner]; o != nil {
		if e, ok := o.idx[digest]; ok {
			o.lru.MoveToFront(e)
			return e.Value.(*specEntry).spec, true
		}
	}
	if anyOwner {
		for _, o := range t.owners {
			if e, ok := o.idx[digest]; ok {
				return e.Value.(*specEntry).spec, true
			}
		}
	}
	return taskfile.Spec{}, false
}
