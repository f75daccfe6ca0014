package api

import (
	"container/list"
	"os"
	"path/filepath"
	"sync"

	"github.com/ingo-grader/ingo/internal/taskfile"
)

// maxSpecBytes bounds what taskSpecs keeps: each entry counts its
// task.yaml's size (at most taskfile.MaxBytes) and specOverhead.
const (
	maxSpecBytes = 32 << 20
	specOverhead = 512
)

// taskSpecs remembers the task.yaml (the environment, limits, network and
// problems) of each task bundle stored through this process, by digest,
// so that a job naming a task_bundle runs as one with the folder does:
// the backend and the agents never read task.yaml, and without it such a
// job ran with the agents' default limits (a task's 6 s timeout became 90
// s of a slot) and the default environment. A digest is its content's, so
// one entry serves every token. Like taskOwners, it is this process's
// memory, least recently used first out past maxSpecBytes.
type taskSpecs struct {
	mu   sync.Mutex
	max  int64
	used int64
	lru  *list.List // of *specEntry, most recently used first
	idx  map[string]*list.Element
}

type specEntry struct {
	digest string
	spec   taskfile.Spec
	cost   int64
}

func newTaskSpecs(maxBytes int64) *taskSpecs {
	return &taskSpecs{max: maxBytes, lru: list.New(), idx: map[string]*list.Element{}}
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

// add records the spec of the bundle digest.
func (t *taskSpecs) add(digest string, spec taskfile.Spec, cost int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.idx[digest]; ok {
		t.lru.MoveToFront(e)
		return
	}
	t.idx[digest] = t.lru.PushFront(&specEntry{digest: digest, spec: spec, cost: cost})
	t.used += cost
	for t.used > t.max && t.lru.Len() > 1 {
		oldest := t.lru.Back()
		e := t.lru.Remove(oldest).(*specEntry)
		delete(t.idx, e.digest)
		t.used -= e.cost
	}
}

// get is the spec of the bundle digest, if this process stored it.
func (t *taskSpecs) get(digest string) (taskfile.Spec, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.idx[digest]
	if !ok {
		return taskfile.Spec{}, false
	}
	t.lru.MoveToFront(e)
	return e.Value.(*specEntry).spec, true
}
