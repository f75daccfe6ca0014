package api

import (
	"container/list"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/ingo-grader/ingo/internal/taskfile"
)

// maxSpecBytesPerOwner bounds what taskSpecs keeps for one token name:
// each entry counts its task.yaml's size (at most taskfile.MaxBytes),
// specOverhead and specValueCost for each value its problems decoded to;
// a course's task files are a few KiB each, so this holds thousands.
// Names are only those an admin issued tokens for.
//
// specValueCost is about what one decoded value holds (a map entry, a
// map of one entry, a list element): YAML aliases make a task.yaml of
// 35 KB decode to 400,000 values, 40 MB, so its size alone let one name
// keep hundreds of those within its budget.
const (
	maxSpecBytesPerOwner = 8 << 20
	specOverhead         = 512
	specValueCost        = 100
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

// specCost is what spec, read from the task folder dir, counts: its
// task.yaml's size and the values its problems decoded to (aliases
// expanded), which the size alone does not bound.
func specCost(dir string, spec taskfile.Spec) int64 {
	cost := int64(specOverhead) + specValueCost*decodedValues(spec.Problems)
	if fi, err := os.Stat(filepath.Join(dir, "task.yaml")); err == nil {
		cost += fi.Size()
	}
	return cost
}

// decodedValues counts the values of v as YAML decoded it: each map
// entry (key and value), list element and scalar.
func decodedValues(v any) int64 {
	switch v := v.(type) {
	case map[string]any:
		n := int64(1)
		for _, e := range v {
			n += 1 + decodedValues(e)
		}
		return n
	case map[any]any:
		n := int64(1)
		for k, e := range v {
			n += decodedValues(k) + decodedValues(e)
		}
		return n
	case []any:
		n := int64(1)
		for _, e := range v {
			n += decodedValues(e)
		}
		return n
	default:
		return 1
	}
}

// fits says whether a spec of this cost can be kept at all: one over an
// owner's whole budget is not (it would evict all the others, and be
// kept beyond the budget).
func (t *taskSpecs) fits(cost int64) bool { return cost <= t.max }

// add records the spec of the bundle digest that owner stored.
func (t *taskSpecs) add(owner, digest string, spec taskfile.Spec, cost int64) {
	if !t.fits(cost) {
		return
	}
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

// errSpecTooLarge refuses storing a task whose task.yaml, decoded, is
// more than taskSpecs keeps for one name: its task_bundle jobs would
// have nothing to run with.
func errSpecTooLarge(cost, max int64) error {
	return errf(http.StatusRequestEntityTooLarge, "task_too_large", fmt.Sprintf(
		"the task archive's task.yaml decodes to about %s (its problems, YAML aliases expanded), more than the %s this API keeps of one token name's task.yaml files; INGInious' task files are a few KB",
		formatBytes(cost), formatBytes(max)))
}
